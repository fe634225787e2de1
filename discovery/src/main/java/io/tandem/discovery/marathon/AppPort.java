package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.Protocol;
import java.util.List;
import java.util.Set;

/**
 * Port {@code index} of an app (from {@code portDefinitions}, {@code portMappings} or the legacy
 * locations): its protocols, container port (overlay mode), service port and VIP labels.
 *
 * @param servicePort Marathon's service port ({@code portDefinitions[i].port} in host mode,
 *                    {@code portMappings[i].servicePort} otherwise, legacy {@code ports[i]}); 0 when
 *                    the app has none (IP-per-task discovery ports)
 */
record AppPort(int index, Set<Protocol> protocols, int containerPort, int servicePort, List<VipLabel> vips) {
    AppPort {
        protocols = Set.copyOf(requireNonNull(protocols, "protocols"));
        vips = List.copyOf(requireNonNull(vips, "vips"));
    }

    AppPort(int index, Set<Protocol> protocols, int containerPort, List<VipLabel> vips) {
        this(index, protocols, containerPort, 0, vips);
    }
}
