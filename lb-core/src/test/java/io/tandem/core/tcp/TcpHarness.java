package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import io.tandem.config.AccessControl;
import io.tandem.config.BackendConfig;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.OutlierDetection;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.ResponseTimeoutMode;
import io.tandem.config.Timeouts;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import io.tandem.config.VipLocality;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.testing.RecordingEvents;
import io.tandem.core.testing.RoundRobinTestPolicy;
import io.tandem.core.vip.Vip;
import io.tandem.sys.RateLimitedLog;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The connection state machine without sockets: a VIP on a {@link MemoryLoop}, clients and
 * backends as {@link MemorySocket}s the test plays, and a clock that moves only when the test
 * says ({@link #advance}). Build with the VIP's knobs, then {@link #accept} a client.
 */
final class TcpHarness implements AutoCloseable {
    static final InetSocketAddress CLIENT = new InetSocketAddress("198.51.100.7", 51000);
    static final InetSocketAddress BOUND = new InetSocketAddress("203.0.113.10", 8080);

    final MockTicker ticker = Ticker.newMockTicker();
    final EmbeddedChannel channel = EmbeddedChannel.builder().ticker(ticker).build();
    final MemoryLoop loop = new MemoryLoop(channel);
    final RecordingEvents events = new RecordingEvents();
    final Vip vip;
    final List<Backend> backends;
    final VipOnLoop home;

    private TcpHarness(Builder b) {
        List<BackendConfig> configs = new ArrayList<>();
        List<Backend> list = new ArrayList<>();
        for (int i = 0; i < b.backends; i++) {
            HostPort hp = HostPort.of("192.0.2." + (i + 1), 7001);
            configs.add(new BackendConfig(hp, 1));
            list.add(Backend.of(hp, new InetSocketAddress("192.0.2." + (i + 1), 7001), 1));
        }
        HealthPolicy health = b.responseTimeout.isZero() && b.closedBeforeResponse == null && b.latency == null
                ? HealthPolicy.DEFAULTS
                : new HealthPolicy(false, new OutlierDetection(1, Duration.ofSeconds(1), Duration.ofSeconds(60), 50,
                        b.responseTimeout, b.responseMode).withClosedBeforeResponse(b.closedBeforeResponse == null
                        ? io.tandem.config.ClosedBeforeResponse.RESET : b.closedBeforeResponse).withLatency(b.latency == null
                        ? io.tandem.config.LatencyEjection.DEFAULTS : b.latency), 0, Duration.ZERO, false);
        VipConfig config = new VipConfig("t", HostPort.of(BOUND.getHostString(), BOUND.getPort()), Protocol.TCP,
                PolicyKind.ROUND_ROBIN, configs, b.limits, b.timeouts, b.retries, b.proxyProtocol, b.relay,
                Optional.empty(), health, Optional.empty(), UdpOptions.DEFAULTS, VipLocality.DEFAULTS, b.acl);
        backends = List.copyOf(list);
        Policy policy = b.firstAvailable ? (client, tried) -> backends.stream().filter(x -> !tried.contains(x))
                .findFirst().orElse(null) : new RoundRobinTestPolicy(backends);
        vip = new Vip("t", new BackendPool(config, backends, policy, false, 1));
        home = new VipOnLoop(vip, events, RateLimitedLog.every(Duration.ofSeconds(1)), BOUND, loop);
        loop.splice = b.splice;
    }

    static Builder builder() {
        return new Builder();
    }

    /** A client connects: its connection is admitted (or refused) and starts its first connect. */
    MemorySocket accept() {
        return accept(CLIENT);
    }

    /** A client from {@code from} connects. */
    MemorySocket accept(InetSocketAddress from) {
        MemorySocket client = new MemorySocket(loop, "client", true);
        client.remote = from;
        client.local = BOUND;
        BackendPool pool = vip.pool();
        home.place(null).adopt(client, pool, VipOnLoop.needsClientAddress(pool) ? from : null);
        run();
        return client;
    }

    /** The {@code i}th backend socket the connections opened. */
    MemorySocket backendSocket(int i) {
        assertThat(loop.opened).as("backend sockets opened").hasSizeGreaterThan(i);
        return loop.opened.get(i);
    }

    /** The only live connection. */
    TcpConnection connection() {
        assertThat(vip.connections()).hasSize(1);
        return (TcpConnection) vip.connections().iterator().next();
    }

    /** Runs the tasks the loop has queued (resumed reads, requested resets). */
    void run() {
        channel.runPendingTasks();
    }

    /** Moves the clock and runs what became due. */
    void advance(long amount, TimeUnit unit) {
        ticker.advance(amount, unit);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    /** Counters are back to zero: the connection released what it held. */
    void assertReleased() {
        assertThat(vip.stats().active.get()).as("vip active").isZero();
        assertThat(backends).allSatisfy(b -> assertThat(b.stats().active.get()).as("backend %s active", b).isZero());
        assertThat(vip.connections()).as("live connections").isEmpty();
        assertThat(home.live()).as("connections counted on the loop").isZero();
        assertThat(loop.pipesOpen).as("pipes left open").isZero();
    }

    /** Cuts what is still open (its buffers are released), then stops the loop. */
    @Override
    public void close() {
        vip.connections().forEach(c -> c.reset());
        run();
        channel.finishAndReleaseAll();
    }

    static final class Builder {
        private int backends = 2;
        private Limits limits = Limits.UNLIMITED;
        private Timeouts timeouts = new Timeouts(Duration.ofSeconds(2), Duration.ZERO, Duration.ZERO);
        private int retries = 2;
        private ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.NONE;
        private RelayMode relay = RelayMode.COPY;
        private boolean splice = true;
        private boolean firstAvailable;
        private Duration responseTimeout = Duration.ZERO;
        private ResponseTimeoutMode responseMode = ResponseTimeoutMode.FIRST_RESPONSE;
        private io.tandem.config.ClosedBeforeResponse closedBeforeResponse;
        private io.tandem.config.LatencyEjection latency;
        private AccessControl acl = AccessControl.OPEN;

        Builder acl(AccessControl acl) {
            this.acl = acl;
            return this;
        }

        Builder backends(int n) {
            backends = n;
            return this;
        }

        Builder limits(int maxConnections, int maxPerBackend) {
            limits = new Limits(maxConnections, maxPerBackend);
            return this;
        }

        Builder limits(Limits l) {
            limits = l;
            return this;
        }

        Builder timeouts(Duration connect, Duration idle, Duration userTimeout) {
            timeouts = new Timeouts(connect, idle, userTimeout);
            return this;
        }

        Builder retries(int n) {
            retries = n;
            return this;
        }

        Builder proxyProtocol(ProxyProtocolVersion v) {
            proxyProtocol = v;
            return this;
        }

        Builder relay(RelayMode mode) {
            relay = mode;
            return this;
        }

        /** Sockets that cannot splice (as NIO's). */
        Builder copyOnly() {
            splice = false;
            return this;
        }

        /** A policy that always prefers the first backend not tried yet (only limits and failures move traffic). */
        Builder firstAvailable() {
            firstAvailable = true;
            return this;
        }

        Builder responseTimeout(Duration timeout, ResponseTimeoutMode mode) {
            responseTimeout = timeout;
            responseMode = mode;
            return this;
        }

        Builder closedBeforeResponse(io.tandem.config.ClosedBeforeResponse mode) {
            closedBeforeResponse = mode;
            return this;
        }

        Builder latency(io.tandem.config.LatencyEjection settings) {
            latency = settings;
            return this;
        }

        TcpHarness start() {
            return new TcpHarness(this);
        }
    }
}
