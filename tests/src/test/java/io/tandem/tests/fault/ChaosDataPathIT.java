package io.tandem.tests.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import eu.rekawek.toxiproxy.Proxy;
import eu.rekawek.toxiproxy.ToxiproxyClient;
import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.tandem.tests.TandemProcess;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The data path under Toxiproxy's stream toxics (issue #18, the chaos list's last three): a
 * backend whose bytes arrive in tiny slices with delays ({@code slicer}, both ways), one behind a
 * slow link ({@code bandwidth}), and one whose connection is cut after a number of bytes
 * ({@code limit_data}). Through a real {@code tandem run} on each engine and relay (epoll copy,
 * epoll splice, NIO), to an echo server: what comes back is byte-exact (or, when the backend cuts
 * the stream, an exact prefix followed by an end, never a wrong byte), and no connection is left
 * open on the node once the clients closed. Skipped with a message where no Toxiproxy binary is found.
 */
class ChaosDataPathIT {
    private static final int SLICED_BYTES = 256 * 1024;
    private static final int SLOW_BYTES = 192 * 1024;
    private static final int SLOW_KBPS = 128;
    private static final int LIMIT_BYTES = 10_000;

    private static Process toxiproxy;
    private static ToxiproxyClient client;
    private static ServerSocket echo;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startToxiproxyAndEcho() throws Exception {
        Optional<Path> binary = ToxiproxyFaults.serverBinary();
        Assumptions.assumeTrue(binary.isPresent(), "toxiproxy-server not found ($TANDEM_TOXIPROXY, "
                + "../shared/tools/toxiproxy/ beside the checkout, PATH): chaos data-path scenarios skipped");
        int port = freePort();
        toxiproxy = new ProcessBuilder(binary.get().toString(), "-host", "127.0.0.1", "-port", Integer.toString(port))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        await("toxiproxy listens").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                .until(() -> connects(port));
        client = new ToxiproxyClient("127.0.0.1", port);
        echo = new ServerSocket();
        echo.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
        Thread.ofVirtual().start(() -> {
            while (!echo.isClosed()) {
                try {
                    Socket s = echo.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                            in.transferTo(out);
                        } catch (IOException e) {
                            // the toxic cut it
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterAll
    static void stop() throws IOException {
        if (echo != null) {
            echo.close();
        }
        if (toxiproxy != null) {
            toxiproxy.destroyForcibly();
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"epoll copy", "epoll splice", "nio copy"})
    void slicedDelayedAndCutStreamsComeBackExactAndLeaveNothingOpen(String variant) throws Exception {
        String transport = variant.split(" ")[0];
        String relay = variant.split(" ")[1];
        String tag = transport + "-" + relay;
        Proxy sliced = proxy("sliced-" + tag);
        sliced.toxics().slicer("slice-down", ToxicDirection.DOWNSTREAM, 64, 20).setSizeVariation(48);
        sliced.toxics().slicer("slice-up", ToxicDirection.UPSTREAM, 64, 20).setSizeVariation(48);
        Proxy slow = proxy("slow-" + tag);
        slow.toxics().bandwidth("slow-down", ToxicDirection.DOWNSTREAM, SLOW_KBPS);
        Proxy cut = proxy("cut-" + tag);
        cut.toxics().limitData("cut-down", ToxicDirection.DOWNSTREAM, LIMIT_BYTES);

        int pSliced = freePort();
        int pSlow = freePort();
        int pCut = freePort();
        int admin = freePort();
        Path config = dir.resolve("chaos-" + tag + ".yaml");
        Files.writeString(config, """
                runtime: {transport: %s}
                admin: {listen: "127.0.0.1:%d"}
                vips:
                  - {name: sliced, listen: "127.0.0.1:%d", backends: ["%s"], relay: %s}
                  - {name: slow, listen: "127.0.0.1:%d", backends: ["%s"], relay: %s}
                  - {name: cut, listen: "127.0.0.1:%d", backends: ["%s"], relay: %s}
                """.formatted(transport, admin, pSliced, sliced.getListen(), relay, pSlow, slow.getListen(), relay,
                pCut, cut.getListen(), relay));
        try (var node = TandemProcess.start("run", "--config", config.toString())) {
            node.awaitLine("node started", Duration.ofSeconds(30));
            Random random = new Random(tag.hashCode());

            byte[] a = bytes(random, SLICED_BYTES);
            Exchange s = exchange(pSliced, a, Duration.ofSeconds(60));
            assertThat(s.received().length).as("sliced: bytes back").isEqualTo(a.length);
            assertThat(Arrays.equals(s.received(), a)).as("sliced: byte-exact").isTrue();
            assertThat(s.ending()).as("sliced: every byte back").isEqualTo("complete");

            byte[] b = bytes(random, SLOW_BYTES);
            Exchange w = exchange(pSlow, b, Duration.ofSeconds(60));
            assertThat(Arrays.equals(w.received(), b)).as("slow: byte-exact (%d of %d)", w.received().length,
                    b.length).isTrue();
            // 192 KiB at 128 KB/s: the toxic was in the path, and nothing was lost waiting for it.
            assertThat(w.millis()).as("slow: ms for %d bytes at %d KB/s", b.length, SLOW_KBPS).isGreaterThan(1_000);

            byte[] c = bytes(random, 64 * 1024);
            Exchange k = exchange(pCut, c, Duration.ofSeconds(20));
            assertThat(k.received().length).as("cut: at most the limit").isLessThanOrEqualTo(LIMIT_BYTES);
            assertThat(Arrays.equals(k.received(), Arrays.copyOf(c, k.received().length)))
                    .as("cut: what arrived is an exact prefix").isTrue();
            assertThat(k.ending()).as("cut: the stream ended (EOF or reset), it did not hang").isIn("eof", "reset");

            System.out.printf("CHAOS-SUMMARY variant=%s sliced_ms=%d slow_ms=%d (%d KB/s) cut_bytes=%d cut_end=%s%n",
                    variant, s.millis(), w.millis(), SLOW_BYTES / Math.max(1, w.millis()), k.received().length,
                    k.ending());
            await("no connection left open on the node").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100)).until(() -> activeConnections(admin) == 0);
            // and the node still relays after the three toxics
            Exchange again = exchange(pSliced, "after".getBytes(), Duration.ofSeconds(20));
            assertThat(new String(again.received())).isEqualTo("after");
        } finally {
            sliced.delete();
            slow.delete();
            cut.delete();
        }
    }

    private record Exchange(byte[] received, String ending, long millis) {
    }

    /**
     * Writes {@code payload} while reading concurrently until {@code payload.length} bytes came
     * back or the stream ended. No half-close: Toxiproxy 2.8.0 closes both directions on a FIN
     * from either side and drops the bytes it still holds (checked without Tandem in between:
     * 0 of 256 KiB come back through a toxic-free proxy after the client's shutdown(SHUT_WR)), so
     * the half-close patterns are the kernel-level close tests' (lb-core), not these.
     */
    private static Exchange exchange(int port, byte[] payload, Duration limit) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            s.setSoTimeout((int) limit.toMillis());
            long t0 = System.nanoTime();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int off = 0; off < payload.length; off += 8192) {
                        out.write(payload, off, Math.min(8192, payload.length - off));
                    }
                } catch (IOException e) {
                    // the backend cut the stream (limit_data): what was read says what happened
                }
            }, r -> Thread.ofVirtual().start(r));
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            String ending = "complete";
            byte[] buf = new byte[16 * 1024];
            InputStream in = s.getInputStream();
            try {
                while (got.size() < payload.length) {
                    int n = in.read(buf, 0, Math.min(buf.length, payload.length - got.size()));
                    if (n < 0) {
                        ending = "eof";
                        break;
                    }
                    got.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                ending = "timeout";
            } catch (IOException e) {
                ending = "reset";
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            writer.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            return new Exchange(got.toByteArray(), ending, millis);
        }
    }

    private static Proxy proxy(String name) throws IOException {
        return client.createProxy(name, "127.0.0.1:" + freePort(), "127.0.0.1:" + echo.getLocalPort());
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static long activeConnections(int admin) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + admin + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("(?m)^tandem_vip_connections_active\\{[^}]*} ([0-9.]+)$").matcher(r.body());
        long sum = 0;
        boolean any = false;
        while (m.find()) {
            any = true;
            sum += (long) Double.parseDouble(m.group(1));
        }
        assertThat(any).as("tandem_vip_connections_active in /metrics").isTrue();
        return sum;
    }

    private static boolean connects(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
