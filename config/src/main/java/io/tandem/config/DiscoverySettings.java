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
public record DiscoverySettings(Optional<ZooKeeper> zookeeper, Optional<Marathon> marathon,
                                Optional<Path> stateDir, Optional<NamedVipDns> dns) {
    public static final DiscoverySettings NONE = new DiscoverySettings(Optional.empty(), Optional.empty());

    /**
     * @param stateDir where each source keeps its last good snapshot (written atomically), served
     *                 marked stale when the node starts while the source is unreachable
     * @param dns      the named-VIP DNS responder (Marathon named VIPs by name)
     */
    public DiscoverySettings {
        requireNonNull(zookeeper, "zookeeper");
        requireNonNull(marathon, "marathon");
        requireNonNull(stateDir, "stateDir");
        requireNonNull(dns, "dns");
    }

    /** Sources only: no state directory, no DNS responder. */
    public DiscoverySettings(Optional<ZooKeeper> zookeeper, Optional<Marathon> marathon) {
        this(zookeeper, marathon, Optional.empty(), Optional.empty());
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
     * Apps labelled for Marathon-LB ({@code HAPROXY_GROUP} matching {@code groups}) are served on
     * their service ports at {@code bindAddress}.
     *
     * @param groups               Marathon-LB's {@code --group}: the {@code HAPROXY_GROUP}s this node
     *                             serves ({@code *} = every app, grouped or not); empty = Marathon-LB
     *                             labels are not served
     * @param labelSelector        only apps matching this Marathon label selector (sent to Marathon
     *                             with {@code /v2/apps?label=}, and applied to every app read)
     * @param bindAddress          the address service ports listen on unless
     *                             {@code HAPROXY_n_BIND_ADDR} says otherwise
     * @param strictMode           Marathon-LB's {@code --strict-mode}: a service port is served only
     *                             with {@code HAPROXY_n_ENABLED=true}
     * @param marathonHealthChecks active checks of declared VIPs come from the apps' Marathon
     *                             {@code healthChecks}
     */
    public record Marathon(List<String> urls, Optional<String> basicAuth, Optional<String> token,
                           Duration silenceTimeout, Duration resyncInterval, String namedVipBlock,
                           boolean keepUnreachable, List<String> groups, Optional<LabelSelector> labelSelector,
                           String bindAddress, boolean strictMode, boolean marathonHealthChecks) {
        /** Marathon-LB's default bind address ({@code *}). */
        public static final String DEFAULT_BIND_ADDRESS = "0.0.0.0";

        public Marathon {
            urls = List.copyOf(requireNonNull(urls, "urls"));
            requireNonNull(basicAuth, "basicAuth");
            requireNonNull(token, "token");
            requireNonNull(silenceTimeout, "silenceTimeout");
            requireNonNull(resyncInterval, "resyncInterval");
            requireNonNull(namedVipBlock, "namedVipBlock");
            groups = List.copyOf(requireNonNull(groups, "groups"));
            requireNonNull(labelSelector, "labelSelector");
            requireNonNull(bindAddress, "bindAddress");
        }

        /** No Marathon-LB groups, no selector; checks from Marathon. */
        public Marathon(List<String> urls, Optional<String> basicAuth, Optional<String> token,
                        Duration silenceTimeout, Duration resyncInterval, String namedVipBlock,
                        boolean keepUnreachable) {
            this(urls, basicAuth, token, silenceTimeout, resyncInterval, namedVipBlock, keepUnreachable, List.of(),
                    Optional.empty(), DEFAULT_BIND_ADDRESS, false, true);
        }

        @Override
        public String toString() {
            return "Marathon[urls=" + urls + ", auth=" + (basicAuth.isPresent() ? "basic"
                    : token.isPresent() ? "token" : "none") + ", namedVipBlock=" + namedVipBlock
                    + (groups.isEmpty() ? "" : ", groups=" + groups)
                    + labelSelector.map(l -> ", labelSelector=" + l.query()).orElse("") + "]";
        }
    }

    /**
     * The named-VIP DNS responder: authoritative for {@code <name>.<suffix>}, answering the
     * addresses Marathon named VIPs were allocated.
     *
     * @param listen where it answers, over UDP and TCP
     * @param suffix the zone, lower case without a trailing dot (DC/OS: marathon.l4lb.thisdcos.directory)
     * @param ttl    TTL of every answer (and of negative answers, via the SOA minimum)
     */
    public record NamedVipDns(HostPort listen, String suffix, Duration ttl) {
        public static final String DEFAULT_SUFFIX = "marathon.l4lb.thisdcos.directory";
        public static final Duration DEFAULT_TTL = Duration.ofSeconds(5);

        public NamedVipDns {
            requireNonNull(listen, "listen");
            requireNonNull(suffix, "suffix");
            requireNonNull(ttl, "ttl");
        }
    }
}
