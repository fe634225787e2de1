package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.tandem.config.BackendConfig;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.sys.Errno;
import io.tandem.core.vip.Vip;
import io.tandem.health.HealthFlag;
import io.tandem.health.check.HealthChecker;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The passive signals as the control loop receives them: the node's own resource errors never
 * count against a backend (whoever reports them), and a self-loop flags its backend
 * {@link HealthFlag#SELF_LOOP} once, with one WARN.
 */
class PassiveSignalsTest {
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Metrics metrics = new Metrics();
    private final AtomicInteger published = new AtomicInteger();
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(HealthKeeper.class);
    private VipState vs;
    private Backend a;
    private Backend b;
    private ConnectionEvents events;

    @BeforeEach
    void setUp() throws Exception {
        logged.start();
        logger.addAppender(logged);
        a = Backend.of(HostPort.of("127.0.0.1", 9001), 1);
        b = Backend.of(HostPort.of("127.0.0.1", 9002), 1);
        VipConfig config = new VipConfig("v", HostPort.of("127.0.0.1", 8080), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                List.of(new BackendConfig(a.address(), 1), new BackendConfig(b.address(), 1)), Limits.UNLIMITED,
                Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty(), HealthPolicy.DEFAULTS,
                Optional.empty());
        Vip vip = new Vip("v", new BackendPool(config, List.of(a, b), (client, tried) -> null, false, 1));
        vs = new VipState(config, vip);
        vs.backends.put(a.address(), new BackendState(a, "static"));
        vs.backends.put(b.address(), new BackendState(b, "static"));
        HealthChecker checker = new HealthChecker(group, NioSocketChannel.class, NioDatagramChannel.class, loop,
                Clock.systemUTC());
        HealthKeeper keeper = new HealthKeeper(loop, checker, metrics, Clock.systemUTC(),
                name -> name.equals("v") ? vs : null, s -> published.incrementAndGet(), () -> Duration.ZERO);
        loop.submit(() -> keeper.syncHealth(vs, config, Clock.systemUTC().instant())).get();
        published.set(0);
        events = keeper.connectionEvents();
    }

    @AfterEach
    void tearDown() {
        logger.detachAppender(logged);
        loop.shutdownNow();
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
        metrics.close();
    }

    private void drain() throws Exception {
        loop.submit(() -> { }).get();
    }

    @Test
    void theNodesOwnResourceErrorsNeverCountAgainstABackend() throws Exception {
        for (int i = 0; i < 5; i++) {
            events.connectFailed(vs.vip, a, new IOException("socket(..) failed: Too many open files"), 0);
            events.connectFailed(vs.vip, a, new Errno.ConnectErrnoException("connect(..) failed: Cannot assign "
                    + "requested address: /127.0.0.1:9001", Errno.EADDRNOTAVAIL), 0);
        }
        drain();
        assertThat(vs.backends.get(a.address()).flags()).isEmpty();
        assertThat(a.stats().failureStreak.get()).isZero();
        assertThat(published).hasValue(0);

        // The same path ejects on a refusal: the backend's own failure.
        events.connectFailed(vs.vip, a, new ConnectException("connect(..) failed: Connection refused"), 0);
        drain();
        assertThat(vs.backends.get(a.address()).flags()).containsExactly(HealthFlag.EJECTED_PASSIVE);
    }

    @Test
    void aSelfLoopFlagsItsBackendOnceAndSaysSoOnce() throws Exception {
        events.selfLoop(vs.vip, b);
        events.selfLoop(vs.vip, b);
        events.selfLoop(vs.vip, b);
        drain();
        BackendState bs = vs.backends.get(b.address());
        assertThat(bs.flags()).containsExactly(HealthFlag.SELF_LOOP);
        assertThat(bs.recentTransitions()).singleElement().satisfies(t -> {
            assertThat(t.flag()).isEqualTo(HealthFlag.SELF_LOOP);
            assertThat(t.set()).isTrue();
        });
        assertThat(vs.backends.get(a.address()).flags()).isEmpty();
        assertThat(published).hasValue(1);
        assertThat(logged.list).filteredOn(e -> e.getFormattedMessage().startsWith("backend self-loop"))
                .singleElement().satisfies(e -> {
                    assertThat(e.getLevel().toString()).isEqualTo("WARN");
                    assertThat(e.getFormattedMessage()).contains("vip=v backend=127.0.0.1:9002").contains("flag=SELF_LOOP");
                });
    }
}
