package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.Protocol;
import java.util.List;
import java.util.Set;

/**
 * Port {@code index} of an app (from {@code portDefinitions}, {@code portMappings} or the legacy
 * locations): its protocols, container port (overlay mode) and VIP labels.
 */
record AppPort(int index, Set<Protocol> protocols, int containerPort, List<VipLabel> vips) {
    AppPort {
        protocols = Set.copyOf(requireNonNull(protocols, "protocols"));
        vips = List.copyOf(requireNonNull(vips, "vips"));
    }
}
