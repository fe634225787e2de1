package io.tandem.health.check;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.tandem.config.CheckTiming;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** Runs every checker test on NIO and, where available, on epoll. */
abstract class CheckerITBase {

    record TestTransport(String name, EventLoopGroup group, Class<? extends SocketChannel> socket,
                         Class<? extends DatagramChannel> datagram) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final List<TestTransport> TRANSPORTS = new ArrayList<>();
    static ExecutorService callbacks;
    private final List<HealthChecker> checkers = new ArrayList<>();

    @BeforeAll
    static void startLoops() {
        TRANSPORTS.add(new TestTransport("nio", new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory()),
                NioSocketChannel.class, NioDatagramChannel.class));
        if (Epoll.isAvailable()) {
            TRANSPORTS.add(new TestTransport("epoll", new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory()),
                    EpollSocketChannel.class, EpollDatagramChannel.class));
        }
        callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-control-loop"));
    }

    @AfterAll
    static void stopLoops() throws InterruptedException {
        for (TestTransport t : TRANSPORTS) {
            t.group().shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
        TRANSPORTS.clear();
        callbacks.shutdownNow();
    }

    static Stream<TestTransport> transports() {
        return TRANSPORTS.stream();
    }

    @AfterEach
    void closeCheckers() {
        checkers.forEach(HealthChecker::close);
        checkers.clear();
    }

    HealthChecker checker(TestTransport t) {
        HealthChecker c = new HealthChecker(t.group(), t.socket(), t.datagram(), callbacks, Clock.systemUTC());
        checkers.add(c);
        return c;
    }

    /** A checker whose random start spread and jitter come from {@code random}. */
    HealthChecker checker(TestTransport t, java.util.random.RandomGenerator random) {
        HealthChecker c = new HealthChecker(t.group(), t.socket(), t.datagram(), callbacks, Clock.systemUTC(), random);
        checkers.add(c);
        return c;
    }

    /** A checker that hands listener calls to {@code callbackExecutor} (e.g. one that counts them). */
    HealthChecker checker(TestTransport t, java.util.concurrent.Executor callbackExecutor) {
        HealthChecker c = new HealthChecker(t.group(), t.socket(), t.datagram(), callbackExecutor, Clock.systemUTC());
        checkers.add(c);
        return c;
    }

    /**
     * rise 1, fall 1, no jitter: every probe decides, so a test needs one probe. No watch
     * connection: these tests count probes and connections (WatchConnectionIT tests the watch).
     */
    static CheckTiming timing(Duration interval, Duration timeout) {
        return new CheckTiming(interval, timeout, 1, 1, 0, Duration.ofMillis(100), interval, CheckTiming.Watch.OFF);
    }

    static CheckTiming fast() {
        return timing(Duration.ofMillis(200), Duration.ofSeconds(3));
    }
}
