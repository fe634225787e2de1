package io.tandem.discovery.zookeeper;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Everything a {@link ZooKeeperSource} needs: where ZooKeeper is, how to authenticate, which
 * subtree holds the registrations and how they are laid out.
 *
 * <p>Start from {@link #of(String, String)} (the defaults suit a Curator service-discovery
 * registry) and adjust with the {@code with*} methods. {@link #validate()} reports every problem
 * at once; {@link ZooKeeperSource} refuses settings that do not validate.
 *
 * @param sourceName        the source's name in logs and the admin API (default {@code zookeeper})
 * @param connectString     ZooKeeper ensemble, {@code host:port[,host:port...]}
 * @param sessionTimeout    requested session timeout; the server clamps it to
 *                          [2, 20] x tickTime. Only our own stale detection depends on it
 * @param connectionTimeout how long one connection attempt may take
 * @param namespace         Curator namespace (a chroot without the leading slash, e.g.
 *                          {@code tandem/prod}); every path below is relative to it
 * @param digestAuth        {@code user:password} for ZooKeeper's {@code digest} scheme, when the
 *                          registry is protected by digest ACLs
 * @param tls               client TLS to a ZooKeeper {@code secureClientPort}
 * @param basePath          the registry root, e.g. {@code /services}; services are its children
 * @param layout            how instances are written below {@code basePath/service}
 * @param useSslPort        Curator layout only: route to {@code sslPort} instead of {@code port}
 *                          (instances without an {@code sslPort} are then dropped)
 * @param removalDebounce   how long a vanished instance is kept before the removal is published;
 *                          covers a registrant's delete-and-recreate on reconnect. Zero disables
 * @param services          the services to watch; empty means every child of {@code basePath}
 * @param stateDir          where the last good membership is kept (atomically) and read back at start
 */
public record ZooKeeperSettings(String sourceName, String connectString, Duration sessionTimeout,
                                Duration connectionTimeout, Optional<String> namespace,
                                Optional<String> digestAuth, Optional<Tls> tls, String basePath,
                                Layout layout, boolean useSslPort, Duration removalDebounce,
                                Set<String> services, Optional<Path> stateDir) {

    /** Default removal debounce: longer than a Curator registrant's delete-and-recreate. */
    public static final Duration DEFAULT_REMOVAL_DEBOUNCE = Duration.ofMillis(1500);

    /** How instances are stored below {@code basePath/serviceName}. */
    public enum Layout {
        /** Curator service discovery: one child per instance holding a JSON {@code ServiceInstance}. */
        CURATOR,
        /** One child per instance named {@code host:port}, or holding {@code host:port} as data. */
        PLAIN
    }

    /**
     * ZooKeeper client TLS (Netty client socket, {@code zookeeper.client.secure=true}).
     *
     * @param trustStore         trust store (PKCS12 or JKS) holding the ZooKeeper server's CA
     * @param trustStorePassword its password
     * @param keyStore           client key store, when the server requires client certificates
     * @param keyStorePassword   its password
     * @param hostnameVerification verify the server's certificate against the host name
     */
    public record Tls(Path trustStore, String trustStorePassword, Optional<Path> keyStore,
                      Optional<String> keyStorePassword, boolean hostnameVerification) {
        public Tls {
            requireNonNull(trustStore, "trustStore");
            requireNonNull(trustStorePassword, "trustStorePassword");
            requireNonNull(keyStore, "keyStore");
            requireNonNull(keyStorePassword, "keyStorePassword");
        }

        /** Server authentication only, with host name verification on. */
        public static Tls trusting(Path trustStore, String trustStorePassword) {
            return new Tls(trustStore, trustStorePassword, Optional.empty(), Optional.empty(), true);
        }

        @Override
        public String toString() {
            return "Tls[trustStore=" + trustStore + ", keyStore=" + keyStore.map(Path::toString).orElse("none")
                    + ", hostnameVerification=" + hostnameVerification + "]";
        }
    }

    public ZooKeeperSettings {
        requireNonNull(sourceName, "sourceName");
        requireNonNull(connectString, "connectString");
        requireNonNull(sessionTimeout, "sessionTimeout");
        requireNonNull(connectionTimeout, "connectionTimeout");
        requireNonNull(namespace, "namespace");
        requireNonNull(digestAuth, "digestAuth");
        requireNonNull(tls, "tls");
        requireNonNull(basePath, "basePath");
        requireNonNull(layout, "layout");
        requireNonNull(removalDebounce, "removalDebounce");
        services = Set.copyOf(requireNonNull(services, "services"));
        requireNonNull(stateDir, "stateDir");
    }

    /**
     * Defaults: Curator layout, 30 s session, 10 s connection timeout, 1.5 s removal debounce,
     * every service under {@code basePath}, no namespace, no auth, no TLS.
     */
    public static ZooKeeperSettings of(String connectString, String basePath) {
        return new ZooKeeperSettings("zookeeper", connectString, Duration.ofSeconds(30), Duration.ofSeconds(10),
                Optional.empty(), Optional.empty(), Optional.empty(), basePath, Layout.CURATOR, false,
                DEFAULT_REMOVAL_DEBOUNCE, Set.of(), Optional.empty());
    }

    public ZooKeeperSettings withSourceName(String v) {
        return new ZooKeeperSettings(v, connectString, sessionTimeout, connectionTimeout, namespace, digestAuth,
                tls, basePath, layout, useSslPort, removalDebounce, services, stateDir);
    }

    public ZooKeeperSettings withTimeouts(Duration session, Duration connection) {
        return new ZooKeeperSettings(sourceName, connectString, session, connection, namespace, digestAuth,
                tls, basePath, layout, useSslPort, removalDebounce, services, stateDir);
    }

    public ZooKeeperSettings withNamespace(String v) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout,
                Optional.of(v), digestAuth, tls, basePath, layout, useSslPort, removalDebounce, services, stateDir);
    }

    public ZooKeeperSettings withDigestAuth(String userColonPassword) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout, namespace,
                Optional.of(userColonPassword), tls, basePath, layout, useSslPort, removalDebounce, services, stateDir);
    }

    public ZooKeeperSettings withTls(Tls v) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout, namespace,
                digestAuth, Optional.of(v), basePath, layout, useSslPort, removalDebounce, services, stateDir);
    }

    public ZooKeeperSettings withLayout(Layout v) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout, namespace,
                digestAuth, tls, basePath, v, useSslPort, removalDebounce, services, stateDir);
    }

    public ZooKeeperSettings withUseSslPort(boolean v) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout, namespace,
                digestAuth, tls, basePath, layout, v, removalDebounce, services, stateDir);
    }

    public ZooKeeperSettings withRemovalDebounce(Duration v) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout, namespace,
                digestAuth, tls, basePath, layout, useSslPort, v, services, stateDir);
    }

    public ZooKeeperSettings withServices(Set<String> v) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout, namespace,
                digestAuth, tls, basePath, layout, useSslPort, removalDebounce, v, stateDir);
    }

    public ZooKeeperSettings withStateDir(Path dir) {
        return new ZooKeeperSettings(sourceName, connectString, sessionTimeout, connectionTimeout, namespace,
                digestAuth, tls, basePath, layout, useSslPort, removalDebounce, services, Optional.of(dir));
    }

    /** Every problem with these settings, each as {@code name: value (expected ...)}; empty when valid. */
    public List<String> validate() {
        List<String> errors = new ArrayList<>();
        if (sourceName.isBlank()) {
            errors.add("sourceName: \"\" (expected a non-empty name)");
        }
        if (connectString.isBlank()) {
            errors.add("connectString: \"\" (expected host:port[,host:port...])");
        } else {
            for (String part : connectString.split("/", 2)[0].split(",")) {
                if (!part.strip().matches("(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]+)(:\\d{1,5})?")) {
                    errors.add("connectString: \"" + connectString + "\" (expected host:port[,host:port...])");
                    break;
                }
            }
        }
        checkPositive(errors, "sessionTimeout", sessionTimeout);
        checkPositive(errors, "connectionTimeout", connectionTimeout);
        if (sessionTimeout.toMillis() > Integer.MAX_VALUE || connectionTimeout.toMillis() > Integer.MAX_VALUE) {
            errors.add("sessionTimeout/connectionTimeout: too large (expected < 24 days)");
        }
        namespace.ifPresent(ns -> {
            if (ns.isEmpty() || ns.startsWith("/") || ns.endsWith("/") || ns.contains("//")) {
                errors.add("namespace: \"" + ns + "\" (expected a relative path such as tandem/prod)");
            }
        });
        digestAuth.ifPresent(a -> {
            int colon = a.indexOf(':');
            if (colon <= 0 || colon == a.length() - 1) {
                errors.add("digestAuth: \"" + mask(a) + "\" (expected user:password)");
            }
        });
        if (!basePath.startsWith("/") || (basePath.length() > 1 && basePath.endsWith("/"))
                || basePath.contains("//")) {
            errors.add("basePath: \"" + basePath + "\" (expected an absolute znode path such as /services)");
        }
        if (removalDebounce.isNegative()) {
            errors.add("removalDebounce: " + removalDebounce + " (expected >= 0)");
        }
        if (useSslPort && layout != Layout.CURATOR) {
            errors.add("useSslPort: true (expected false with layout " + layout + ")");
        }
        for (String s : services) {
            if (s.isEmpty() || s.contains("/")) {
                errors.add("services: \"" + s + "\" (expected a service name without '/')");
            }
        }
        return errors;
    }

    private static void checkPositive(List<String> errors, String name, Duration d) {
        if (d.isNegative() || d.isZero()) {
            errors.add(name + ": " + d + " (expected > 0)");
        }
    }

    private static String mask(String userColonPassword) {
        int colon = userColonPassword.indexOf(':');
        return colon < 0 ? "***" : userColonPassword.substring(0, colon + 1) + "***";
    }

    /** Passwords are never printed. */
    @Override
    public String toString() {
        return "ZooKeeperSettings[sourceName=" + sourceName + ", connectString=" + connectString
                + ", sessionTimeout=" + sessionTimeout + ", connectionTimeout=" + connectionTimeout
                + ", namespace=" + namespace.orElse("") + ", digestAuth=" + digestAuth.map(ZooKeeperSettings::mask).orElse("none")
                + ", tls=" + tls.map(Tls::toString).orElse("none") + ", basePath=" + basePath + ", layout=" + layout
                + ", useSslPort=" + useSslPort + ", removalDebounce=" + removalDebounce
                + ", services=" + (services.isEmpty() ? "all" : services) + "]";
    }
}
