package io.tandem.sys;

import static io.tandem.sys.TcpRepairIT.assertSame;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A connection moves between hosts with its address and survives (issue #24, the kernel-level
 * proof). Three network namespaces on one bridge: a client, node1 (with the address A = VIP and
 * an echo server) and node2. The client's connection to A is dumped on node1 and closed there in
 * repair mode (no FIN, no RST); A moves to node2; a separate process on node2 restores the
 * connection from the record, shipped as a file; the client, never told, carries on. Needs root.
 */
class ConnectionSurvivalIT {
    private static final String VIP = "198.18.29.100";
    private static final int PORT = 7000;
    private static final Duration T = Duration.ofSeconds(15);
    private static final String HOLD = """
            table inet rephold {
             chain in {
              type filter hook input priority -10; policy accept;
              ip daddr 198.18.29.100 tcp dport 7000 tcp flags & syn != syn drop
             }
            }
            """;

    @TempDir
    Path dir;
    private RepNet net;
    private RawTcp raw;
    private TcpRepair repair;
    private int listener = -1;
    private int server = -1;
    private Socket client;
    private Process node2;
    private java.net.ServerSocket backendServer;
    private int backend = -1;
    private final BlockingQueue<String> node2Lines = new LinkedBlockingQueue<>();

    private static boolean nftAvailable() {
        try {
            Process p = new ProcessBuilder("nft", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @BeforeEach
    void network() throws Exception {
        assumeTrue(Syscalls.AVAILABLE, "libc through FFM unavailable");
        assumeTrue("root".equals(System.getProperty("user.name")), "namespaces and TCP_REPAIR need root");
        assumeTrue(nftAvailable(), "the nft command (Debian nftables) holds back the kernels' resets: skipped");
        net = RepNet.create();
        raw = new RawTcp();
        repair = TcpRepair.open();
        net.in(RepNet.NODE1, "ip", "addr", "add", VIP + "/32", "dev", "eth0");
        InetSocketAddress a = new InetSocketAddress(InetAddress.ofLiteral(VIP), PORT);
        listener = net.call(RepNet.NODE1, () -> {
            try (RawTcp own = new RawTcp()) {
                return own.listen(a);
            }
        });
        client = net.call(RepNet.CLIENT, () -> {
            Socket s = new Socket();
            s.setSoTimeout(15_000);
            s.connect(a, 5_000);
            return s;
        });
        server = raw.accept(listener, T);
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (node2 != null) {
            node2.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (client != null) {
            client.close();
        }
        if (backendServer != null) {
            backendServer.close();
        }
        if (raw != null) {
            if (backend >= 0) {
                raw.close(backend);
            }
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
        if (net != null) {
            net.close();
        }
    }

    @Test
    void aQuiescentConnectionMovesToAnotherNodeAndCarriesOnByteExact() throws Exception {
        for (int i = 0; i < 5; i++) {
            echoOnNode1("node1-" + i);
        }
        // Quiescent: the client's delayed ACK of the last echo has arrived (until it has, the
        // record would carry the echo as unacknowledged, and the ACK would meet a closed socket).
        await().pollInSameThread().atMost(T).until(() -> repair.quiescent(server));
        hold(RepNet.NODE1);
        hold(RepNet.NODE2);
        Path record = dumpAndClose();
        long closed = System.nanoTime();
        moveVip();
        startNode2(record, "--check", "--lift", "rephold");
        assertThat(line("restored")).contains("syscalls=");
        assertThat(line("verdict=")).startsWith("verdict=MATCH");

        echoOnNode2("node2-first");
        long resumedMs = (System.nanoTime() - closed) / 1_000_000;
        for (int i = 0; i < 20; i++) {
            echoOnNode2("node2-" + i);
        }
        byte[] big = random(1_000_000, 7);
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                client.getOutputStream().write(big);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        assertSame(client.getInputStream().readNBytes(big.length), big);
        writer.join(15_000);
        System.out.println("SURVIVAL quiescent resumed_ms_after_close=" + resumedMs + " (includes node2's JVM start)");
    }

    /**
     * What the hold-back rule is for: a segment the client sends while no socket holds the
     * connection (after node1's silent close, before node2's restore) is answered by node1's
     * kernel with a RST, and the connection is lost. The client's delayed ACK of the last bytes
     * it received is such a segment too, up to 40 ms or more after them.
     */
    @Test
    void withoutAHoldBackASegmentSentInTheGapIsAnsweredWithAReset() throws Exception {
        echoOnNode1("before");
        dumpAndClose();
        client.getOutputStream().write("in-the-gap\n".getBytes(StandardCharsets.US_ASCII));
        assertClientReset();
    }

    /** The same on the new node: A has arrived, the connection is not restored yet, a RST. */
    @Test
    void withoutAHoldBackOnTheNewNodeASegmentBeforeTheRestoreIsAnsweredWithAReset() throws Exception {
        echoOnNode1("before");
        dumpAndClose();
        moveVip();
        client.getOutputStream().write("after-the-move\n".getBytes(StandardCharsets.US_ASCII));
        assertClientReset();
    }

    @Test
    void withTheHoldBackASegmentSentInTheGapReachesTheRestoredSocket() throws Exception {
        echoOnNode1("before");
        hold(RepNet.NODE1);
        hold(RepNet.NODE2);
        Path record = dumpAndClose();
        byte[] gap = "in-the-gap\n".getBytes(StandardCharsets.US_ASCII);
        client.getOutputStream().write(gap); // dropped by node1's rule instead of answered with a RST
        moveVip();
        startNode2(record, "--check", "--lift", "rephold");
        line("restored");
        assertThat(line("verdict=")).doesNotStartWith("verdict=MISMATCH");
        assertThat(client.getInputStream().readNBytes(gap.length)).isEqualTo(gap); // the client's retransmission, echoed
        echoOnNode2("after");
    }

    @Test
    void bytesInFlightUnacknowledgedAreRetransmittedByTheRestoredSocket() throws Exception {
        echoOnNode1("before");
        // The client's kernel drops what node1 sends: the bytes stay unacknowledged in node1's queue.
        nft(RepNet.CLIENT, "table inet repcli {\n chain in {\n  type filter hook input priority -10; policy accept;\n"
                + "  ip saddr " + VIP + " tcp sport " + PORT + " drop\n }\n}\n");
        byte[] inflight = random(20_000, 9);
        raw.writeAll(server, inflight, T);
        Path record = dumpAndClose();
        TcpState state = TcpState.decode(Files.readAllBytes(record));
        assertThat(state.sendQueue()).hasSize(inflight.length);
        assertThat(state.sendQueue().length - state.unsent()).isPositive(); // some of it was on the wire
        moveVip();
        net.in(RepNet.CLIENT, "nft", "delete", "table", "inet", "repcli");
        startNode2(record, "--check");
        line("restored");
        assertThat(line("verdict=")).startsWith("verdict=MATCH");
        assertSame(client.getInputStream().readNBytes(inflight.length), inflight);
        echoOnNode2("after");
        System.out.println("SURVIVAL inflight bytes=" + inflight.length + " unsent=" + state.unsent()
                + " record_bytes=" + Files.size(record));
    }

    /**
     * A record the connection has moved past (both ends exchanged bytes after it was taken) is
     * detected from the client's first answer and ends in a RST the client accepts: a clean
     * reset, and no stale or duplicated byte delivered.
     */
    @Test
    void aStaleRecordEndsInACleanResetWithNoByteDelivered() throws Exception {
        echoOnNode1("before");
        TcpState stale = repair.dump(server);
        repair.resume(server);
        for (int i = 0; i < 3; i++) {
            echoOnNode1("moved-on-" + i);
        }
        // the client's last delayed ACK must meet no closed socket, on either node
        Path record = discardForStale(stale, "stale.rec");
        moveVip();
        startNode2(record, "--check", "--lift", "rephold");
        line("restored");
        assertThat(line("verdict=")).startsWith("verdict=MISMATCH");
        line("reset");
        assertClientReset();
    }

    /**
     * A stale record where only the client's direction moved on: node1 took (acknowledged) bytes
     * after the record and sent nothing back, so the client's acknowledgements still match and
     * only its sequence numbers are ahead. Decided at the check's deadline from the client's
     * data, which only ever starts beyond the restored socket's next expected byte: a clean reset.
     */
    @Test
    void aRecordBehindOnlyInTheClientsDirectionEndsInACleanReset() throws Exception {
        echoOnNode1("before");
        TcpState stale = repair.dump(server);
        repair.resume(server);
        byte[] oneWay = "taken-by-node1\n".getBytes(StandardCharsets.US_ASCII);
        client.getOutputStream().write(oneWay);
        raw.readExactly(server, oneWay.length, T); // read and acknowledged, never answered
        // Acknowledged now, not after the delayed-ACK timer: a pending ACK dies with the silent
        // close, the client then retransmits the bytes to node2, whose record is not stale after
        // all (it takes them: a MATCH, rightly).
        raw.word(server, Syscalls.IPPROTO_TCP, 12 /* TCP_QUICKACK */, 1);
        Path record = discardForStale(stale, "stale-one-way.rec");
        moveVip();
        startNode2(record, "--check", "--lift", "rephold");
        line("restored");
        client.getOutputStream().write("next\n".getBytes(StandardCharsets.US_ASCII));
        String verdict = line("verdict=");
        assertThat(verdict).startsWith("verdict=MISMATCH").contains("peer data only beyond");
        line("reset");
        assertClientReset();
    }

    /**
     * Why {@link RestoreCheck} exists: restored from a stale record without it, the connection
     * neither resets nor carries on. The kernel drops the client's ACKs of bytes the restored
     * socket never sent, and the client's new bytes wait behind a gap: the client hangs.
     */
    @Test
    void withoutTheCheckAStaleRecordHangsTheConnection() throws Exception {
        echoOnNode1("before");
        TcpState stale = repair.dump(server);
        repair.resume(server);
        echoOnNode1("moved-on");
        Path record = discardForStale(stale, "stale.rec");
        moveVip();
        startNode2(record, "--lift", "rephold");
        line("restored");
        client.getOutputStream().write("hello?\n".getBytes(StandardCharsets.US_ASCII));
        client.setSoTimeout(3_000);
        assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(java.net.SocketTimeoutException.class);
    }

    /**
     * A planned handover of many quiescent connections at once: every one restored on node2
     * (all frozen, then the hold-back lifted, then all resumed and checked) and each client's
     * next round trip is byte-exact. The survival count and the batch's restore cost are printed.
     */
    @Test
    void aBatchOfQuiescentConnectionsAllSurviveAPlannedHandover() throws Exception {
        int n = 200;
        InetSocketAddress a = new InetSocketAddress(InetAddress.ofLiteral(VIP), PORT);
        List<Socket> clients = new ArrayList<>(List.of(client));
        List<Integer> servers = new ArrayList<>(List.of(server));
        clients.addAll(net.call(RepNet.CLIENT, () -> {
            List<Socket> more = new ArrayList<>();
            for (int i = 1; i < n; i++) {
                Socket s = new Socket();
                s.setSoTimeout(15_000);
                s.connect(a, 5_000);
                more.add(s);
            }
            return more;
        }));
        try {
            for (int i = 1; i < n; i++) {
                servers.add(raw.accept(listener, T));
            }
            // Accept order need not be connect order: pair each client with its server by port.
            java.util.Map<Integer, Integer> serverByPeerPort = new java.util.HashMap<>();
            for (int fd : servers) {
                serverByPeerPort.put(repair.dump(fd).remote().getPort(), fd);
                repair.resume(fd);
            }
            for (Socket c : clients) {
                byte[] msg = ("hello-" + c.getLocalPort() + "\n").getBytes(StandardCharsets.US_ASCII);
                c.getOutputStream().write(msg);
                int fd = serverByPeerPort.get(c.getLocalPort());
                raw.writeAll(fd, raw.readExactly(fd, msg.length, T), T);
                assertThat(c.getInputStream().readNBytes(msg.length)).isEqualTo(msg);
            }
            await().pollInSameThread().atMost(T).until(() -> {
                for (int fd : servers) {
                    if (!repair.quiescent(fd)) {
                        return false;
                    }
                }
                return true;
            });
            hold(RepNet.NODE1);
            hold(RepNet.NODE2);
            List<String> args = new ArrayList<>();
            long c0 = repair.calls();
            long t0 = System.nanoTime();
            List<byte[]> recs = new ArrayList<>();
            for (int fd : servers) {
                recs.add(repair.dump(fd).encode());
                repair.closeSilently(fd);
            }
            long dumpUs = (System.nanoTime() - t0) / 1000;
            long dumpCalls = repair.calls() - c0;
            servers.clear();
            server = -1;
            long bytes = 0;
            for (int i = 0; i < recs.size(); i++) {
                Path p = dir.resolve("batch-" + i + ".rec");
                Files.write(p, recs.get(i));
                bytes += recs.get(i).length;
                args.add(p.toString());
            }
            moveVip();
            args.addAll(List.of("--check", "--lift", "rephold"));
            startNode2(Path.of(args.getFirst()), args.subList(1, args.size()).toArray(String[]::new));
            String restored = line("restored");
            String verdicts = line("verdicts");
            int survived = 0;
            for (Socket c : clients) {
                byte[] msg = ("after-" + c.getLocalPort() + "\n").getBytes(StandardCharsets.US_ASCII);
                try {
                    c.getOutputStream().write(msg);
                    if (java.util.Arrays.equals(c.getInputStream().readNBytes(msg.length), msg)) {
                        survived++;
                    }
                } catch (IOException e) {
                    // reset: counted as not survived
                }
            }
            System.out.println("SURVIVAL batch connections=" + n + " survived=" + survived + " dump_us_total=" + dumpUs
                    + " dump_syscalls_total=" + dumpCalls + " record_bytes_total=" + bytes + " node2 " + restored
                    + " " + verdicts);
            assertThat(verdicts).contains("MATCH=" + n);
            assertThat(survived).isEqualTo(n);
        } finally {
            for (Socket c : clients) {
                if (c != client) {
                    c.close();
                }
            }
            for (int fd : servers) {
                if (fd != server) {
                    raw.close(fd);
                }
            }
        }
    }

    /**
     * The crash case: the record was taken while the connection was quiescent and node1 carried
     * on; then node1 drops off the network (its cable pulled: no FIN, no RST, nothing). node2
     * takes A and restores the connection from the replicated record.
     */
    @Test
    void afterAHostLossTheReplicatedRecordOfAQuiescentConnectionCarriesOnOnNode2() throws Exception {
        for (int i = 0; i < 3; i++) {
            echoOnNode1("node1-" + i);
        }
        await().pollInSameThread().atMost(T).until(() -> repair.quiescent(server));
        TcpState state = repair.dump(server);
        repair.resume(server); // node1 carries on; the record is what its peer would hold
        Path record = dir.resolve("replicated.rec");
        Files.write(record, state.encode());
        net.link(RepNet.NODE1, false); // host loss
        net.in(RepNet.NODE2, "ip", "addr", "add", VIP + "/32", "dev", "eth0");
        net.in(RepNet.CLIENT, "ip", "neigh", "flush", "dev", "eth0");
        net.announce(RepNet.NODE2, VIP, RepNet.CLIENT);
        startNode2(record, "--check");
        line("restored");
        String v = line("verdict=");
        if (!v.startsWith("verdict=MATCH")) {
            diag();
        }
        assertThat(v).startsWith("verdict=MATCH");
        for (int i = 0; i < 10; i++) {
            echoOnNode2("node2-" + i);
        }
    }

    /**
     * What made the two host-loss scenarios end UNKNOWN in CI: a peer answers at most one
     * out-of-window segment of a connection per {@code net.ipv4.tcp_invalid_ratelimit} (500 ms
     * by default) and counts the rest as {@code TcpExtTCPACKSkippedSeq}. A window probe is such a
     * segment. node1's probe when it resumed after taking the record was answered; node2's, sent
     * less than 500 ms later (CI starts node2's JVM in ~0.5 s: its first echo came 544–769 ms
     * after the close), was not, and a quiet client says nothing else. Here the client's limit is
     * 8 s and node2's process is started (and waits) before node1's probe, so node2's first probe
     * falls within the limit however slow the machine: the check relies on probing again
     * ({@link RestoreCheck#REPROBE}); with the resume's probe alone ({@code --probe-once}, the old
     * check) this ends UNKNOWN.
     */
    @Test
    void aProbeAnswerThePeerRateLimitedIsAskedForAgainUntilItComes() throws Exception {
        net.in(RepNet.CLIENT, "sysctl", "-q", "-w", "net.ipv4.tcp_invalid_ratelimit=8000");
        Path record = dir.resolve("replicated.rec");
        startNode2(record, "--check", "--within", System.getProperty("survival.within", "12"),
                System.getProperty("survival.probe", "--check"), "--wait");
        line("ready");
        echoOnNode1("node1");
        await().pollInSameThread().atMost(T).until(() -> repair.quiescent(server));
        TcpState state = repair.dump(server);
        repair.resume(server); // its window probe is answered: the client's limit starts now
        long answered = System.nanoTime();
        Files.write(record, state.encode());
        net.link(RepNet.NODE1, false);
        net.in(RepNet.NODE2, "ip", "addr", "add", VIP + "/32", "dev", "eth0");
        net.announce(RepNet.NODE2, VIP, RepNet.CLIENT);
        node2.getOutputStream().write('\n');
        node2.getOutputStream().flush();
        line("restored");
        System.out.println("SURVIVAL node2 went " + (System.nanoTime() - answered) / 1_000_000 + " ms after node1's probe");
        String v = line("verdict=");
        long skipped = counter(RepNet.CLIENT, "TcpExtTCPACKSkippedSeq");
        System.out.println("SURVIVAL rate-limited probe " + v + " client_skipped=" + skipped);
        assertThat(skipped).as("the client suppressed an answer (the premise)").isPositive();
        assertThat(v).startsWith("verdict=MATCH").contains("more probe");
        for (int i = 0; i < 5; i++) {
            echoOnNode2("node2-" + i);
        }
    }

    /**
     * The crash case when the connection did not stay quiescent: the replicated record is from
     * before an exchange node1 then made, and node1 is lost mid-conversation. node2's restore
     * finds the client ahead of the record and resets it cleanly: no stale byte, no hang.
     */
    @Test
    void afterAHostLossAConnectionThatMovedOnSinceItsRecordIsResetCleanly() throws Exception {
        echoOnNode1("before");
        await().pollInSameThread().atMost(T).until(() -> repair.quiescent(server));
        TcpState state = repair.dump(server);
        repair.resume(server);
        Path record = dir.resolve("replicated.rec");
        Files.write(record, state.encode());
        echoOnNode1("not-replicated"); // the record is now behind
        net.link(RepNet.NODE1, false);
        net.in(RepNet.NODE2, "ip", "addr", "add", VIP + "/32", "dev", "eth0");
        net.in(RepNet.CLIENT, "ip", "neigh", "flush", "dev", "eth0");
        net.announce(RepNet.NODE2, VIP, RepNet.CLIENT);
        startNode2(record, "--check");
        line("restored");
        String v = line("verdict=");
        if (!v.startsWith("verdict=MISMATCH")) {
            diag();
        }
        assertThat(v).startsWith("verdict=MISMATCH");
        line("reset");
        assertClientReset();
    }

    /**
     * The planned handover of one proxied connection: the client side (A:7000) and the backend
     * side, which left node1 from S:40001, an address that moves with the VIP (node1's source
     * ports would be 40000-40999, node2's 41000-41999, so restored 4-tuples never clash). Both
     * sockets are dumped and closed silently, A and S move, node2 restores both, lifts the
     * hold-back, resumes both and relays: the client's round trips through the backend carry on.
     */
    @Test
    void aProxiedPairMovesWithTheVipAndItsSourceAddressAndCarriesOn() throws Exception {
        InetSocketAddress be = new InetSocketAddress(InetAddress.ofLiteral("198.18.29.21"), 9000);
        InetSocketAddress source = new InetSocketAddress(InetAddress.ofLiteral(SOURCE), 40001);
        backendServer = net.call(RepNet.BACKEND, () -> new java.net.ServerSocket(be.getPort(), 8, be.getAddress()));
        Thread.ofPlatform().daemon().start(this::echoBackend);
        net.in(RepNet.NODE1, "ip", "addr", "add", SOURCE + "/32", "dev", "eth0");
        backend = net.call(RepNet.NODE1, () -> {
            try (RawTcp own = new RawTcp()) {
                return own.connect(source, be, T);
            }
        });
        for (int i = 0; i < 5; i++) {
            proxyOnNode1("via-node1-" + i);
        }
        await().pollInSameThread().atMost(T).until(() -> repair.quiescent(server) && repair.quiescent(backend));
        nft(RepNet.NODE1, HOLD_PAIR);
        nft(RepNet.NODE2, HOLD_PAIR);
        long c0 = repair.calls();
        long t0 = System.nanoTime();
        TcpState front = repair.dump(server);
        TcpState back = repair.dump(backend);
        repair.closeSilently(server);
        repair.closeSilently(backend);
        long dumpUs = (System.nanoTime() - t0) / 1000;
        long dumpCalls = repair.calls() - c0;
        server = -1;
        backend = -1;
        Path frontRecord = dir.resolve("front.rec");
        Path backRecord = dir.resolve("back.rec");
        Files.write(frontRecord, front.encode());
        Files.write(backRecord, back.encode());
        assertThat(back.local()).isEqualTo(source);

        for (String a : List.of(VIP, SOURCE)) {
            net.in(RepNet.NODE1, "ip", "addr", "del", a + "/32", "dev", "eth0");
            net.in(RepNet.NODE2, "ip", "addr", "add", a + "/32", "dev", "eth0");
        }
        net.in(RepNet.CLIENT, "ip", "neigh", "flush", "dev", "eth0");
        net.in(RepNet.BACKEND, "ip", "neigh", "flush", "dev", "eth0");
        net.announce(RepNet.NODE2, VIP, RepNet.CLIENT);
        net.announce(RepNet.NODE2, SOURCE, RepNet.BACKEND);
        startNode2(frontRecord, backRecord.toString(), "--pair", "--check", "--lift", "rephold");
        String restored = line("restored");
        assertThat(line("verdict=")).startsWith("verdict=MATCH MATCH");
        for (int i = 0; i < 10; i++) {
            echoOnNode2("via-node2-" + i); // through node2's relay and the backend's echo
        }
        byte[] big = random(300_000, 11);
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                client.getOutputStream().write(big);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        assertSame(client.getInputStream().readNBytes(big.length), big);
        writer.join(15_000);
        System.out.println("SURVIVAL pair dump_us=" + dumpUs + " dump_syscalls=" + dumpCalls + " node2 " + restored);
    }

    // --- steps

    private static final String SOURCE = "198.18.29.101";
    private static final String HOLD_PAIR = """
            table inet rephold {
             chain in {
              type filter hook input priority -10; policy accept;
              ip daddr 198.18.29.100 tcp dport 7000 tcp flags & syn != syn drop
              ip daddr 198.18.29.101 tcp dport 40001 tcp flags & syn != syn drop
             }
            }
            """;

    /** The backend: echoes each connection's bytes. */
    private void echoBackend() {
        try (Socket s = backendServer.accept()) {
            byte[] b = new byte[65536];
            for (int n; (n = s.getInputStream().read(b)) > 0; ) {
                s.getOutputStream().write(b, 0, n);
            }
        } catch (IOException e) {
            // closed by the test's end
        }
    }

    /** One round trip client → node1's relay → backend echo → node1's relay → client. */
    private void proxyOnNode1(String text) throws Exception {
        byte[] msg = (text + "\n").getBytes(StandardCharsets.US_ASCII);
        client.getOutputStream().write(msg);
        raw.writeAll(backend, raw.readExactly(server, msg.length, T), T);
        raw.writeAll(server, raw.readExactly(backend, msg.length, T), T);
        assertThat(client.getInputStream().readNBytes(msg.length)).isEqualTo(msg);
    }


    /** A kernel counter of {@code host}'s namespace (nstat's absolute value; 0 when absent). */
    private long counter(String host, String name) throws IOException {
        return net.in(host, "nstat", "-azs", name).lines().filter(l -> l.startsWith(name + " "))
                .mapToLong(l -> Long.parseLong(l.split("\\s+")[1])).findFirst().orElse(0);
    }

    private void diag() throws IOException {
        System.out.println("DIAG client nstat: " + net.in(RepNet.CLIENT, "nstat", "-azs").lines()
                .filter(l -> l.matches("(?i).*(paws|skipped|challenge|dupack|OutSegs|InSegs|RetransSegs|oow|ProbeDrop|OFO|TSEcr|Drop).*"))
                .filter(l -> !l.matches(".*\\s0\\s+0\\.0\\s*$")).toList());
        System.out.println("DIAG client ss: " + net.in(RepNet.CLIENT, "ss", "-tinoe").replace('\n', ' '));
        System.out.println("DIAG node2 ss: " + net.in(RepNet.NODE2, "ss", "-tinoe").replace('\n', ' '));
        System.out.println("DIAG client neigh: " + net.in(RepNet.CLIENT, "ip", "neigh").replace('\n', ' '));
    }

    private Path dumpAndClose() throws Exception {
        TcpState s = repair.dump(server);
        repair.closeSilently(server);
        server = -1;
        Path record = dir.resolve("conn.rec");
        Files.write(record, s.encode());
        return record;
    }

    /** A moves from node1 to node2; the client forgets node1's MAC (Tandem's HA sends a gratuitous ARP). */
    private void moveVip() throws IOException {
        net.in(RepNet.NODE1, "ip", "addr", "del", VIP + "/32", "dev", "eth0");
        net.in(RepNet.NODE2, "ip", "addr", "add", VIP + "/32", "dev", "eth0");
        net.in(RepNet.CLIENT, "ip", "neigh", "flush", "dev", "eth0");
        net.announce(RepNet.NODE2, VIP, RepNet.CLIENT);
    }

    /** The client's next read ends in a reset: the connection was ended cleanly, not hung. */
    private void assertClientReset() {
        assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(SocketException.class)
                .hasMessageContaining("reset");
    }

    /**
     * Both nodes hold back their resets, node1's socket is dropped without a FIN or RST, and
     * {@code stale} (a record the connection has moved on from) is written to {@code file} for node2.
     */
    private Path discardForStale(TcpState stale, String file) throws Exception {
        hold(RepNet.NODE1);
        hold(RepNet.NODE2);
        repair.discard(server);
        server = -1;
        Path record = dir.resolve(file);
        Files.write(record, stale.encode());
        return record;
    }

    private void hold(String host) throws IOException {
        nft(host, HOLD);
    }

    private void nft(String host, String ruleset) throws IOException {
        Path f = dir.resolve("rules-" + host + "-" + System.nanoTime() + ".nft");
        Files.writeString(f, ruleset);
        net.in(host, "nft", "-f", f.toString());
    }

    private void startNode2(Path record, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", net.ns(RepNet.NODE2),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                RepairNodeMain.class.getName(), record.toString()));
        cmd.addAll(List.of(args));
        node2 = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(node2.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    System.out.println("node2: " + l);
                    node2Lines.add(l);
                }
            } catch (IOException e) {
                node2Lines.add("error " + e);
            }
        });
    }

    /** The next line of node2's that starts with {@code prefix} (lines before it are skipped). */
    private String line(String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline) {
            String l = node2Lines.poll(100, TimeUnit.MILLISECONDS);
            if (l == null) {
                continue;
            }
            if (l.startsWith("error")) {
                throw new AssertionError("node2 failed: " + l);
            }
            if (l.startsWith(prefix)) {
                return l;
            }
        }
        throw new AssertionError("node2 said no line starting with " + prefix);
    }

    private void echoOnNode1(String text) throws Exception {
        byte[] msg = (text + "\n").getBytes(StandardCharsets.US_ASCII);
        client.getOutputStream().write(msg);
        byte[] got = raw.readExactly(server, msg.length, T);
        raw.writeAll(server, got, T);
        assertThat(client.getInputStream().readNBytes(msg.length)).isEqualTo(msg);
    }

    private void echoOnNode2(String text) throws Exception {
        byte[] msg = (text + "\n").getBytes(StandardCharsets.US_ASCII);
        client.getOutputStream().write(msg);
        assertThat(client.getInputStream().readNBytes(msg.length)).isEqualTo(msg);
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

}
