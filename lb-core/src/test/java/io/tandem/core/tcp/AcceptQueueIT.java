package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.EventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.util.concurrent.EventExecutor;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The epoll accept queue ({@link AcceptGroup}): with the shared queue a connection is served by
 * whichever loop is free, and long-lived connections still end up spread over the loops; with one
 * SO_REUSEPORT socket per loop (the fallback without Netty's epoll descriptor) the kernel's hash
 * can leave a connection waiting behind a busy loop (the contrast that shows the first test can
 * fail).
 */
@ExtendWith(LeakWatcher.class)
class AcceptQueueIT {
    /** How long a test keeps one event loop busy. */
    private static final long BLOCK_MILLIS = 3_000;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void requireEpoll() {
        assumeTrue(Epoll.isAvailable(), "epoll unavailable");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    @Test
    void withTheSharedQueueABusyLoopHoldsNoNewConnection() throws Exception {
        ProxyFixture proxy = proxy(TransportKind.EPOLL);
        // Sequential short connections while loop 0 is stuck: each must be served at once by loop 1.
        int served = echoWhileLoopZeroIsBusy(proxy, TransportKind.EPOLL, 20);
        assertThat(served).as("connections answered while loop 0 was busy (of 20)").isEqualTo(20);
    }

    @Test
    void withOneSocketPerLoopSomeConnectionsWaitForTheBusyLoop() throws Exception {
        ProxyFixture proxy = proxy(TransportKind.EPOLL_FALLBACK);
        // The kernel hashes each new connection to a loop's socket: about half land on loop 0 and
        // wait (all 20 on loop 1 has a probability of 2^-20).
        int served = echoWhileLoopZeroIsBusy(proxy, TransportKind.EPOLL_FALLBACK, 20);
        assertThat(served).as("connections answered while loop 0 was busy (of 20)").isLessThan(20);
        // Once the loop is free again, every waiting connection is served: nothing was lost.
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.vip.stats().totalConnections.sum() >= 20);
    }

    @Test
    void longLivedConnectionsAreSpreadOverTheLoops() throws Exception {
        ProxyFixture proxy = proxy(TransportKind.EPOLL);
        int n = 200;
        List<Socket> open = new ArrayList<>();
        try {
            // One at a time on an otherwise idle proxy: the kernel wakes the same waiting loop for
            // every one, so without hand-offs all of them would live on one loop.
            for (int i = 0; i < n; i++) {
                Socket s = new Socket();
                open.add(s);
                s.connect(proxy.address(), 2_000);
                s.setSoTimeout(5_000);
                assertThat(echo(s, i)).as("echo on connection %d", i).isTrue();
            }
            int[] live = proxy.listener().liveByLoop();
            assertThat(live).as("loops").hasSize(2);
            assertThat(Arrays.stream(live).sum()).as("live connections").isEqualTo(n);
            int min = Math.min(live[0], live[1]);
            assertThat(Math.abs(live[0] - live[1])).as("live connections per loop %s", Arrays.toString(live))
                    .isLessThanOrEqualTo(AcceptGroup.SLACK + min / 16 + 1);
            // The balance came from hand-offs (the kernel woke one loop for almost all of them).
            assertThat(proxy.vip.stats().acceptHandOffs.sum()).as("hand-offs").isGreaterThan(0);
        } finally {
            for (Socket s : open) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> Arrays.stream(proxy.listener().liveByLoop()).sum() == 0);
    }

    @Test
    void aLoopThatHasClosedItsShareOfTheSocketIsNotWokenForIt() throws Exception {
        ProxyFixture proxy = proxy(TransportKind.EPOLL);
        Iterator<EventExecutor> loops = ProxyFixture.group(TransportKind.EPOLL).iterator();
        EventExecutor loop0 = loops.next();
        EventExecutor loop1 = loops.next();
        long loop0Thread = loop0.submit(() -> Thread.currentThread().threadId()).get(5, TimeUnit.SECONDS);
        // Loop 1 is busy, so the listener's close runs on loop 0 now and on loop 1 only later:
        // meanwhile loop 1's descriptor keeps the socket listening and new connections queue on it.
        CountDownLatch blocked = new CountDownLatch(1);
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
        loop1.execute(() -> {
            blocked.countDown();
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
        });
        assertThat(blocked.await(5, TimeUnit.SECONDS)).as("loop 1 blocked").isTrue();
        CompletableFuture<Void> closed = proxy.listener().close();
        loop0.submit(() -> { }).get(5, TimeUnit.SECONDS); // loop 0 has run its close
        List<Socket> queued = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Socket s = new Socket();
                queued.add(s);
                s.connect(proxy.address(), 2_000); // completed by the kernel, not yet accepted
            }
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            long before = mx.getThreadCpuTime(loop0Thread);
            Thread.sleep(800);
            long spent = mx.getThreadCpuTime(loop0Thread) - before;
            // A dup shares its open file with the other loops' descriptors: closing it alone does
            // not take it out of loop 0's epoll, which would report the queued connections to
            // loop 0 on every wait (level-triggered) until loop 1 closes too: a spinning loop.
            assertThat(Duration.ofNanos(spent)).as("loop 0 CPU over 800 ms after closing its descriptor")
                    .isLessThan(Duration.ofMillis(300));
            closed.get(10, TimeUnit.SECONDS);
        } finally {
            for (Socket s : queued) {
                s.close();
            }
        }
    }

    private ProxyFixture proxy(TransportKind kind) throws IOException {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        return track(ProxyFixture.builder(kind).backend(echo.address()).start());
    }

    /**
     * Keeps loop 0 busy for {@link #BLOCK_MILLIS} and meanwhile opens {@code n} connections one
     * after another, each with an echo round trip of up to 200 ms (20 × 200 ms would outlast the
     * block: the loop stops early). Returns how many were answered in time.
     */
    private static int echoWhileLoopZeroIsBusy(ProxyFixture proxy, TransportKind kind, int n) throws Exception {
        EventLoop loop0 = (EventLoop) ProxyFixture.group(kind).iterator().next();
        CountDownLatch blocked = new CountDownLatch(1);
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BLOCK_MILLIS);
        loop0.execute(() -> {
            blocked.countDown();
            while (System.nanoTime() < until) {
                Thread.onSpinWait(); // a loop busy with work, not waiting in epoll
            }
        });
        assertThat(blocked.await(5, TimeUnit.SECONDS)).as("loop 0 blocked").isTrue();
        int served = 0;
        try {
            for (int i = 0; i < n && System.nanoTime() < until - TimeUnit.MILLISECONDS.toNanos(300); i++) {
                // Closed after each echo: the loops' counts stay equal, so no hand-off is due.
                try (Socket s = new Socket()) {
                    s.connect(proxy.address(), 2_000);
                    s.setSoTimeout(200);
                    if (echo(s, i)) {
                        served++;
                    }
                }
            }
        } finally {
            long left = until - System.nanoTime();
            if (left > 0) {
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(left) + 1);
            }
        }
        return served;
    }

    /** Sends 4 bytes numbered {@code i} and reads them back: false when the answer did not come in time. */
    private static boolean echo(Socket s, int i) throws IOException {
        byte[] msg = {(byte) (i >> 24), (byte) (i >> 16), (byte) (i >> 8), (byte) i};
        s.getOutputStream().write(msg);
        byte[] back = new byte[4];
        int got = 0;
        try {
            while (got < 4) {
                int r = s.getInputStream().read(back, got, 4 - got);
                if (r < 0) {
                    throw new IOException("connection closed after " + got + " echoed bytes");
                }
                got += r;
            }
        } catch (SocketTimeoutException e) {
            return false;
        }
        assertThat(back).as("echo of connection %d", i).isEqualTo(msg);
        return true;
    }

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }
}
