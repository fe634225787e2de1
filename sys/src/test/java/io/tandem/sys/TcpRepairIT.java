package io.tandem.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link TcpRepair} on real loopback connections: the server side of a connection is dumped,
 * closed in repair mode (no FIN, no RST) and restored into a new socket, and the client, which
 * never learns of it, carries on byte-exact. Needs CAP_NET_ADMIN (root); skipped otherwise.
 */
class TcpRepairIT {
    private static final Logger log = LoggerFactory.getLogger(TcpRepairIT.class);
    private static final Duration T = Duration.ofSeconds(10);

    private RawTcp raw;
    private TcpRepair repair;
    private int listener = -1;
    private int server = -1;
    private Socket client;

    @BeforeEach
    void connect() throws Exception {
        assumeTrue(Syscalls.AVAILABLE, "libc through FFM unavailable");
        assumeTrue("root".equals(System.getProperty("user.name")), "TCP_REPAIR needs CAP_NET_ADMIN (root)");
        raw = new RawTcp();
        repair = TcpRepair.open();
        listener = raw.listen(new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0));
        client = new Socket();
        client.setSoTimeout(10_000);
        client.connect(raw.localAddress(listener), 5_000);
        server = raw.accept(listener, T);
    }

    @AfterEach
    void closeAll() throws Exception {
        if (client != null) {
            client.close();
        }
        if (raw != null) {
            if (server >= 0) {
                raw.close(server);
            }
            if (listener >= 0) {
                raw.close(listener);
            }
            raw.close();
        }
        if (repair != null) {
            repair.close();
        }
    }

    @Test
    void aQuiescentConnectionRestoredInANewSocketCarriesOnByteExact() throws Exception {
        roundTrip("before");
        awaitQuiescent();

        TcpState state = repair.dump(server);
        repair.closeSilently(server);
        server = -1;
        assertThat(state.quiescent()).isTrue();
        assertThat(state.local()).isEqualTo(raw.localAddress(listener));
        assertThat(state.remote().getPort()).isEqualTo(client.getLocalPort());
        assertThat(state.options() & TcpState.OPT_TIMESTAMPS).isNotZero(); // Linux defaults
        assertThat(state.options() & TcpState.OPT_SACK).isNotZero();
        assertThat(state.mssClamp()).isPositive();

        server = repair.restore(TcpState.decode(state.encode()));
        repair.resume(server, state);
        for (int i = 0; i < 20; i++) {
            roundTrip("after-" + i);
        }
        // Both ways, and large: many segments, the restored window and scale in use.
        byte[] big = random(3_000_000, 1);
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                client.getOutputStream().write(big);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertSame(raw.readExactly(server, big.length, T), big);
        writer.join(10_000);
        byte[] back = random(3_000_000, 2);
        Thread reader = Thread.ofPlatform().start(() -> {
            try (RawTcp own = new RawTcp()) { // the arena of this.raw is confined to the test thread
                own.writeAll(server, back, T);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertSame(client.getInputStream().readNBytes(back.length), back);
        reader.join(10_000);
    }

    @Test
    void anIpv6ConnectionIsRestoredToo() throws Exception {
        int l6 = raw.listen(new InetSocketAddress(InetAddress.ofLiteral("::1"), 0));
        int s6 = -1;
        try (Socket c6 = new Socket()) {
            c6.setSoTimeout(10_000);
            c6.connect(raw.localAddress(l6), 5_000);
            s6 = raw.accept(l6, T);
            byte[] hello = "hello-v6\n".getBytes(StandardCharsets.US_ASCII);
            c6.getOutputStream().write(hello);
            raw.writeAll(s6, raw.readExactly(s6, hello.length, T), T);
            assertThat(c6.getInputStream().readNBytes(hello.length)).isEqualTo(hello);
            int fd = s6;
            await().pollInSameThread().atMost(T).until(() -> repair.quiescent(fd));

            TcpState state = TcpState.decode(repair.dump(s6).encode());
            repair.closeSilently(s6);
            s6 = -1;
            assertThat(state.local().getAddress()).isInstanceOf(java.net.Inet6Address.class);
            assertThat(state.encode()).hasSize(80); // 56 + 2 × 12 more address bytes
            s6 = repair.restore(state);
            repair.resume(s6, state);
            for (int i = 0; i < 5; i++) {
                byte[] msg = ("v6-after-" + i + "\n").getBytes(StandardCharsets.US_ASCII);
                c6.getOutputStream().write(msg);
                raw.writeAll(s6, raw.readExactly(s6, msg.length, T), T);
                assertThat(c6.getInputStream().readNBytes(msg.length)).isEqualTo(msg);
            }
        } finally {
            if (s6 >= 0) {
                raw.close(s6);
            }
            raw.close(l6);
        }
    }

    @Test
    void bytesReceivedButNotYetReadAreInTheRestoredSocket() throws Exception {
        byte[] unread = random(100_000, 3);
        client.getOutputStream().write(unread);
        await().pollInSameThread().atMost(T).until(() -> raw.readable(server) == unread.length);

        TcpState state = repair.dump(server);
        repair.closeSilently(server);
        server = -1;
        assertSame(state.recvQueue(), unread);
        assertThat(state.quiescent()).isFalse();

        server = repair.restore(TcpState.decode(state.encode()));
        repair.resume(server, state);
        assertSame(raw.readExactly(server, unread.length, T), unread);
        roundTrip("after");
    }

    @Test
    void aSendQueueTheClientHasNotTakenIsRestoredWithItsUnsentTail() throws Exception {
        // The client reads nothing: its window closes and the server's queue backs up,
        // part of it never sent.
        byte[] all = random(8_000_000, 4);
        int queued = raw.writeSome(server, all);
        assertThat(queued).isPositive().isLessThan(all.length);
        // Until the client's ACK of what it took has arrived, it would meet the closed socket
        // (no hold-back on loopback) and draw a RST from the listener.
        await().pollInSameThread().atMost(T).until(() -> repair.unackedSegments(server) == 0);

        TcpState state = repair.dump(server);
        repair.closeSilently(server);
        server = -1;
        // The queue starts at the first byte the client has not acknowledged: what came before
        // is in the client's receive buffer already.
        assertSame(state.sendQueue(), Arrays.copyOfRange(all, queued - state.sendQueue().length, queued));
        assertThat(state.unsent()).isPositive().isEqualTo(state.sendQueue().length);
        log.info("send queue dumped bytes={} unsent={} record_bytes={}", state.sendQueue().length, state.unsent(),
                state.encode().length);

        server = repair.restore(TcpState.decode(state.encode()));
        repair.resume(server, state);
        InputStream in = client.getInputStream();
        byte[] got = in.readNBytes(queued);
        assertSame(got, Arrays.copyOf(all, queued));
        roundTrip("after");
    }

    @Test
    void aConnectionPastEstablishedIsRefused() throws Exception {
        client.shutdownOutput(); // a FIN: the server side is in CLOSE_WAIT
        await().pollInSameThread().atMost(T).until(() -> {
            try {
                raw.readExactly(server, 1, Duration.ofMillis(50));
                return false;
            } catch (java.io.IOException e) {
                return e.getMessage().startsWith("end of stream");
            }
        });
        assertThatThrownBy(() -> repair.dump(server)).hasMessageContaining("expected 1, ESTABLISHED");
        // Not left frozen: the server's half still delivers.
        raw.writeAll(server, "bye\n".getBytes(StandardCharsets.US_ASCII), T);
        assertThat(client.getInputStream().readNBytes(4)).isEqualTo("bye\n".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void aStateWhoseLocalPortIsTakenIsRefusedAndTheClientIsUntouched() throws Exception {
        roundTrip("before");
        TcpState state = repair.dump(server);
        // Not closed: the 4-tuple is still in use, the restore's connect must fail cleanly.
        assertThatThrownBy(() -> repair.restore(state)).isInstanceOf(Errno.ErrnoException.class)
                .hasMessageContaining("connect");
        repair.resume(server);
        roundTrip("still-alive");
    }

    /**
     * The cost of a dump and of a restore of a quiescent connection: system calls and time,
     * measured over many cycles of the same connection (dump, silent close, restore).
     */
    @Test
    void dumpAndRestoreCostMicrobenchmark() throws Exception {
        roundTrip("warm");
        awaitQuiescent();
        int warm = 200;
        int n = 1000;
        long dumpNanos = 0;
        long restoreNanos = 0;
        long dumpCpu = 0;
        long restoreCpu = 0;
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long dumpCalls = 0;
        long restoreCalls = 0;
        int recordBytes = 0;
        for (int i = 0; i < warm + n; i++) {
            long c0 = repair.calls();
            long u0 = mx.getCurrentThreadCpuTime(); // user + system: the kernel's share included
            long t0 = System.nanoTime();
            TcpState s = repair.dump(server);
            long t1 = System.nanoTime();
            long u1 = mx.getCurrentThreadCpuTime();
            long c1 = repair.calls();
            repair.closeSilently(server);
            server = -1;
            long c2 = repair.calls();
            long u2 = mx.getCurrentThreadCpuTime();
            long t2 = System.nanoTime();
            server = repair.restore(s);
            repair.resume(server, s);
            long t3 = System.nanoTime();
            long u3 = mx.getCurrentThreadCpuTime();
            if (i >= warm) {
                dumpNanos += t1 - t0;
                restoreNanos += t3 - t2;
                dumpCpu += u1 - u0;
                restoreCpu += u3 - u2;
                dumpCalls += c1 - c0;
                restoreCalls += repair.calls() - c2;
                recordBytes = s.encode().length;
            }
        }
        roundTrip("after-" + n);
        double dumpUs = dumpNanos / 1e3 / n;
        double restoreUs = restoreNanos / 1e3 / n;
        log.info("tcp_repair cost cycles={} dump_us={} dump_syscalls={} restore_us={} restore_syscalls={}"
                        + " close_syscalls=1 record_bytes={}", n, String.format("%.1f", dumpUs), dumpCalls / n,
                String.format("%.1f", restoreUs), restoreCalls / n, recordBytes);
        System.out.printf("TCP_REPAIR_BENCH dump_us=%.1f dump_cpu_us=%.1f dump_syscalls=%d restore_us=%.1f"
                        + " restore_cpu_us=%.1f restore_syscalls=%d record_bytes=%d%n", dumpUs, dumpCpu / 1e3 / n,
                dumpCalls / n, restoreUs, restoreCpu / 1e3 / n, restoreCalls / n, recordBytes);
        assertThat(recordBytes).isEqualTo(56);
        assertThat(dumpCalls / n).isLessThanOrEqualTo(16);
        assertThat(restoreCalls / n).isLessThanOrEqualTo(16);
        assertThat(dumpUs).isLessThan(20_000); // a sanity bound only: a shared, noisy machine
        assertThat(restoreUs).isLessThan(20_000);
    }

    /** The client's delayed ACK of the last echo has arrived (else it meets the closed socket: a RST). */
    private void awaitQuiescent() {
        await().pollInSameThread().atMost(T).until(() -> repair.quiescent(server));
    }

    private void roundTrip(String text) throws Exception {
        byte[] msg = (text + "\n").getBytes(StandardCharsets.US_ASCII);
        OutputStream out = client.getOutputStream();
        out.write(msg);
        byte[] got = raw.readExactly(server, msg.length, T);
        assertThat(got).isEqualTo(msg);
        raw.writeAll(server, got, T);
        assertThat(client.getInputStream().readNBytes(msg.length)).isEqualTo(msg);
    }

    /** Equal bytes, reported by the first difference rather than by megabytes of both arrays. */
    static void assertSame(byte[] actual, byte[] expected) {
        assertThat(actual.length).as("length").isEqualTo(expected.length);
        assertThat(Arrays.mismatch(actual, expected)).as("index of the first differing byte").isEqualTo(-1);
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
