package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * The self-loop rule of {@link SelfLoops} for one backend added at run time (the admin API's
 * {@code POST /api/vips/{vip}/backends/{backend}}), against the config in force: the same
 * listeners (every VIP's, the admin API's, the HA peer link's) and the same addresses known to be
 * this node's.
 */
public final class OwnListeners {
    private OwnListeners() {
    }

    /**
     * The listener {@code backend} would reach on this node, described as validation describes it
     * ({@code "vips[web].listen 127.0.0.1:8080: a VIP proxying to itself loops"}), or empty.
     */
    public static Optional<String> reachedBy(TandemConfig config, Protocol protocol, HostPort backend) {
        requireNonNull(config, "config");
        requireNonNull(protocol, "protocol");
        requireNonNull(backend, "backend");
        record L(String path, Protocol protocol, HostPort address, String why) {
        }
        java.util.List<L> listeners = new java.util.ArrayList<>();
        for (VipConfig v : config.vips()) {
            listeners.add(new L("vips[" + v.name() + "].listen", v.protocol(), v.listen(),
                    "a VIP proxying to itself loops"));
        }
        if (config.admin().enabled()) {
            listeners.add(new L("admin.listen", Protocol.TCP, config.admin().listen(),
                    "the admin API is not a backend"));
        }
        config.ha().ifPresent(h -> listeners.add(new L("ha.listen", Protocol.TCP, h.listen(),
                "the HA peer link is not a backend")));
        Set<InetAddress> local = new HashSet<>();
        for (L l : listeners) {
            SelfLoops.literal(l.address().host()).filter(a -> !a.isAnyLocalAddress()).ifPresent(local::add);
        }
        config.ha().ifPresent(h -> h.addresses().forEach(a -> SelfLoops.literal(a.address()).ifPresent(local::add)));
        for (L l : listeners) {
            if (l.protocol() == protocol && l.address().port() == backend.port()
                    && SelfLoops.reaches(backend.host(), l.address().host(), local)) {
                return Optional.of(l.path() + " " + l.address() + ": " + l.why());
            }
        }
        return Optional.empty();
    }
}
