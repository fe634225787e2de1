package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The discovery sources a node reads (each optional). VIPs bind to a discovered service with
 * {@code service:}; the {@code discovery} module turns these settings into running sources.
 */
public record DiscoverySettings(Optional<ZooKeeper> zookeeper, Optional<Marathon> marathon) {
    public static final DiscoverySettings NONE = new DiscoverySettings(Optional.empty(), Optional.empty());

    public DiscoverySettings {
        requireNonNull(zookeeper, "zookeeper");
        requireNonNull(marathon, "marathon");
    }

    public boolean any() {
        return zookeeper.isPresent() || marathon.isPresent();
    }

    /** ZooKeeper through Curator: Curator service-discovery JSON or plain {@code host:port} nodes. */
    public record ZooKeeper(String connect, Duration sessionTimeout, Duration connectionTimeout,
                            Optional<String> namespace, Optional<String> digestAuth, String basePath, Layout layout,
                            Duration removalDebounce, Optional<Tls> tls) {
        public ZooKeeper {
            requireNonNull(connect, "connect");
            requireNonNull(sessionTimeout, "sessionTimeout");
            requireNonNull(connectionTimeout, "connectionTimeout");
            requireNonNull(namespace, "namespace");
            requireNonNull(digestAuth, "digestAuth");
            requireNonNull(basePath, "basePath");
            requireNonNull(layout, "layout");
            requireNonNull(removalDebounce, "removalDebounce");
            requireNonNull(tls, "tls");
        }

        @Override
        public String toString() {
            return "ZooKeeper[connect=" + connect + ", basePath=" + basePath + ", layout=" + layout
                    + ", auth=" + (digestAuth.isPresent() ? "***" : "none") + "]";
        }
    }

    public enum Layout { CURATOR, PLAIN }

    /** ZooKeeper client TLS (trust store required; key store for mutual TLS). */
    public record Tls(Path trustStore, String trustStorePassword, Optional<Path> keyStore,
                      Optional<String> keyStorePassword) {
        public Tls {
            requireNonNull(trustStore, "trustStore");
            requireNonNull(trustStorePassword, "trustStorePassword");
            requireNonNull(keyStore, "keyStore");
            requireNonNull(keyStorePassword, "keyStorePassword");
        }

        @Override
        public String toString() {
            return "Tls[trustStore=" + trustStore + ", keyStore=" + keyStore.map(Path::toString).orElse("none") + "]";
        }
    }

    /**
     * Marathon's event stream plus REST resyncs. Apps' {@code VIP_n} port labels declare VIPs that
     * every node serves with no config change; named VIPs get an address from {@code namedVipBlock}.
     */
    public record Marathon(List<String> urls, Optional<String> basicAuth, Optional<String> token,
                           Duration silenceTimeout, Duration resyncInterval, String namedVipBlock,
                           boolean keepUnreachable) {
        public Marathon {
            urls = List.copyOf(requireNonNull(urls, "urls"));
            requireNonNull(basicAuth, "basicAuth");
            requireNonNull(token, "token");
            requireNonNull(silenceTimeout, "silenceTimeout");
            requireNonNull(resyncInterval, "resyncInterval");
            requireNonNull(namedVipBlock, "namedVipBlock");
        }

        @Override
        public String toString() {
            return "Marathon[urls=" + urls + ", auth=" + (basicAuth.isPresent() ? "basic"
                    : token.isPresent() ? "token" : "none") + ", namedVipBlock=" + namedVipBlock + "]";
        }
    }
}
