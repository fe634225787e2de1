package io.tandem.core.testing;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.AccessControl;
import io.tandem.config.BackendConfig;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolIn;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import io.tandem.config.VipLocality;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.tcp.EpollFallback;
import io.tandem.core.tcp.TcpListener;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.Vip;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A running proxy for one VIP on loopback: a {@link Vip} built directly from a
 * {@link VipConfig} and a round-robin pool, bound with {@link TcpListener#bind}. Event-loop
 * groups (two loops, like the CI machine's two cores) are shared per transport across tests.
 */
public final class ProxyFixture implements AutoCloseable {
    /**
     * The ways the TCP data path runs, by name as used in test display names: raw epoll sockets
     * (the default on Linux), raw epoll sockets on the fallback that runs when Netty's epoll
     * descriptor cannot be reached (sockets added through Netty's registration, one listening
     * socket per loop), and NIO sockets.
     */
    public enum TransportKind {
        EPOLL, EPOLL_FALLBACK, NIO;

        public Transport transport() {
            return this == NIO ? Transport.nioTransport() : Transport.epollTransport();
        }

        /** False for the epoll kinds where the native transport cannot load. */
        public boolean available() {
            return this == NIO || io.netty.channel.epoll.Epoll.isAvailable();
        }
    }

    private static final Map<TransportKind, EventLoopGroup> GROUPS = new ConcurrentHashMap<>();

    public final Vip vip;
    public final List<Backend> backends;
    private final TcpListener listener;

    private ProxyFixture(Vip vip, List<Backend> backends, TcpListener listener) {
        this.vip = vip;
        this.backends = backends;
        this.listener = listener;
    }

    public static EventLoopGroup group(TransportKind kind) {
        return GROUPS.computeIfAbsent(kind, k -> {
            EventLoopGroup g = k.transport().newGroup(2, "proxy-" + k.name().toLowerCase());
            return k == TransportKind.EPOLL_FALLBACK ? EpollFallback.force(g) : g;
        });
    }

    public static Builder builder(TransportKind kind) {
        return new Builder(kind);
    }

    public InetSocketAddress address() {
        return listener.localAddress();
    }

    public TcpListener listener() {
        return listener;
    }

    @Override
    public void close() {
        listener.close().orTimeout(10, TimeUnit.SECONDS).join();
        vip.connections().forEach(c -> c.reset());
    }

    /** Config knobs the data-path tests vary; everything else has test-friendly defaults. */
    public static final class Builder {
        private final TransportKind kind;
        private final List<InetSocketAddress> backendAddresses = new ArrayList<>();
        private RelayMode relay = RelayMode.COPY;
        private Limits limits = Limits.UNLIMITED;
        private Timeouts timeouts = new Timeouts(Duration.ofSeconds(2), Duration.ZERO, Duration.ZERO);
        private int retries = 2;
        private ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.NONE;
        private ConnectionEvents events = ConnectionEvents.NONE;
        private HealthPolicy health = HealthPolicy.DEFAULTS;
        private Function<List<Backend>, Policy> policy = RoundRobinTestPolicy::new;
        private HostPort listen = HostPort.of("127.0.0.1", 0);
        private String name = "t";
        private AccessControl acl = AccessControl.OPEN;
        private ProxyProtocolIn proxyProtocolIn = ProxyProtocolIn.OFF;
        private io.tandem.config.SniRouting sni = io.tandem.config.SniRouting.OFF;
        private final List<Long> backendSets = new ArrayList<>();
        private io.tandem.config.BackendSource source = io.tandem.config.BackendSource.NONE;

        private Builder(TransportKind kind) {
            this.kind = kind;
        }

        /** The VIP's listen address (default 127.0.0.1, port 0). */
        public Builder listen(String host, int port) {
            this.listen = HostPort.of(host, port);
            return this;
        }

        /** The VIP's name (default "t"). */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder backend(InetSocketAddress address) {
            return backend(address, 1L);
        }

        /** A backend serving the SNI backend sets {@code sniSets} (bit 0: the default, bit i+1: routes[i]). */
        public Builder backend(InetSocketAddress address, long sniSets) {
            backendAddresses.add(address);
            backendSets.add(sniSets);
            return this;
        }

        /** SNI routing: the pool gets one sub-pool per set, each with the test policy. */
        public Builder sni(io.tandem.config.SniRouting sni) {
            this.sni = sni;
            return this;
        }

        public Builder relay(RelayMode relay) {
            this.relay = relay;
            return this;
        }

        public Builder limits(Limits limits) {
            this.limits = limits;
            return this;
        }

        public Builder timeouts(Timeouts timeouts) {
            this.timeouts = timeouts;
            return this;
        }

        public Builder retries(int retries) {
            this.retries = retries;
            return this;
        }

        public Builder proxyProtocol(ProxyProtocolVersion version) {
            this.proxyProtocol = version;
            return this;
        }

        public Builder policy(Function<List<Backend>, Policy> policy) {
            this.policy = policy;
            return this;
        }

        public Builder events(ConnectionEvents events) {
            this.events = events;
            return this;
        }

        public Builder health(HealthPolicy health) {
            this.health = health;
            return this;
        }

        public Builder acl(AccessControl acl) {
            this.acl = acl;
            return this;
        }

        /** {@code vips[].source}: where backend connections leave from. */
        public Builder source(io.tandem.config.BackendSource source) {
            this.source = source;
            return this;
        }

        public Builder proxyProtocolIn(ProxyProtocolIn in) {
            this.proxyProtocolIn = in;
            return this;
        }

        public ProxyFixture start() {
            List<BackendConfig> configs = new ArrayList<>();
            List<Backend> backends = new ArrayList<>();
            for (int i = 0; i < backendAddresses.size(); i++) {
                InetSocketAddress a = backendAddresses.get(i);
                HostPort hp = HostPort.of(a.getAddress().getHostAddress(), a.getPort());
                configs.add(new BackendConfig(hp, 1, io.tandem.config.Locality.UNKNOWN, 0, backendSets.get(i)));
                backends.add(Backend.of(hp, a, 1, io.tandem.config.Locality.UNKNOWN, 0, backendSets.get(i)));
            }
            VipConfig config = new VipConfig(name, listen, Protocol.TCP, PolicyKind.ROUND_ROBIN,
                    configs, limits, timeouts, retries, proxyProtocol, relay, Optional.empty(), health, Optional.empty(),
                    UdpOptions.DEFAULTS, VipLocality.DEFAULTS, acl, 0, proxyProtocolIn, sni, source);
            io.tandem.core.pool.SniSets sets = io.tandem.core.pool.SniSets.NONE;
            if (sni.enabled()) {
                List<BackendPool> pools = new ArrayList<>();
                for (int set = 0; set <= sni.routes().size(); set++) {
                    int s = set;
                    List<Backend> in = backends.stream().filter(b -> b.inSniSet(s)).toList();
                    pools.add(new BackendPool(config, in, policy.apply(in), false, 1));
                }
                sets = new io.tandem.core.pool.SniSets(io.tandem.config.SniNames.of(sni), pools,
                        backends.stream().anyMatch(b -> b.inSniSet(0)));
            }
            Vip vip = new Vip(name, new BackendPool(config, backends, policy.apply(backends), false, 1, Set.of(),
                    io.tandem.core.pool.LocalityRouting.Plan.NONE, sets));
            TcpListener listener = TcpListener.bind(vip, group(kind), kind.transport(), events)
                    .orTimeout(10, TimeUnit.SECONDS).join();
            return new ProxyFixture(vip, List.copyOf(backends), listener);
        }
    }
}
