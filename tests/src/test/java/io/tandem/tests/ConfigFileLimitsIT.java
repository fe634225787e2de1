package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code tandem} refuses config input it cannot read safely, at once and with exit 1
 * from {@code validate}: a device grew the process to ~5 GB and exited 3, a FIFO hung it, a
 * 2 MiB comment line took 12 s and 1.9 GB. A running node applies the same limits on reload, with
 * the cap it was started with, and keeps serving.
 */
class ConfigFileLimitsIT {
    /** Generous for a loaded machine: the old code never finished most of these. */
    private static final Duration LIMIT = Duration.ofSeconds(60);

    private static final String VALID = """
            vips:
              - name: web
                listen: 127.0.0.1:%d
                backends: [127.0.0.1:9001]
            """;

    @TempDir
    Path dir;

    private Path fifo(String name) throws IOException, InterruptedException {
        Path fifo = dir.resolve(name);
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mkfifo.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(mkfifo.exitValue()).isZero();
        return fifo;
    }

    @Test
    void validateRefusesDevicesWithExitOne() throws Exception {
        for (String device : new String[] {"/dev/zero", "/dev/urandom"}) {
            TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", "--config", device);
            assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
            assertThat(r.output()).contains(device + ": a character device (expected a regular file)");
        }
    }

    @Test
    void validateRefusesAFifoWithoutWaitingForAWriter() throws Exception {
        Path fifo = fifo("tandem.yaml");

        TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", "--config", fifo.toString());

        assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).contains(fifo + ": a FIFO (named pipe) (expected a regular file)");
    }

    @Test
    void validateRefusesAHugeFileUnreadNamingItsSizeAndTheCapAndTheCapCanBeRaised() throws Exception {
        Path big = dir.resolve("tandem.yaml");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(1_610_612_736L); // sparse 1.5 GiB
        }
        TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", "--config", big.toString());
        assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).contains(big + ": 1610612736 bytes (expected at most 4194304 bytes; raise it with"
                + " --max-config-size)");

        Path padded = Files.writeString(dir.resolve("padded.yaml"), VALID.formatted(Net.freePort())
                + ("# " + "x".repeat(100) + "\n").repeat(50_000)); // ~5 MiB of valid YAML
        assertThat(TandemProcess.run(LIMIT, "validate", "--config", padded.toString()).exitCode()).isEqualTo(1);
        TandemProcess.Result raised = TandemProcess.run(LIMIT, "validate", "--config", padded.toString(),
                "--max-config-size", "8MiB");
        assertThat(raised.exitCode()).as(raised.output()).isZero();
    }

    @Test
    void aBadCapIsAUsageError() throws Exception {
        Path file = Files.writeString(dir.resolve("tandem.yaml"), VALID.formatted(Net.freePort()));

        TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", "--config", file.toString(),
                "--max-config-size", "8MB");

        assertThat(r.exitCode()).as(r.output()).isEqualTo(2);
        assertThat(r.output()).contains("--max-config-size").contains("\"8MB\" (expected a size such as 4194304,"
                + " 512KiB or 8MiB)");
    }

    @Test
    void validateRefusesAGiantCommentLineQuicklyWithExitOne() throws Exception {
        Path file = Files.writeString(dir.resolve("tandem.yaml"), VALID.formatted(Net.freePort())
                + "# " + "x".repeat(2 * 1024 * 1024) + "\n");
        long start = System.nanoTime();

        TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", "--config", file.toString());

        assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).contains("tandem.yaml:5: a line of 2097154 characters (expected lines of at most"
                + " 65536 characters");
        // JVM start included; the old code took 8-13 s here on an idle machine.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void runRefusesAFileOverTheCapWithExitOneBindingNothing() throws Exception {
        int port = Net.freePort();
        Path file = Files.writeString(dir.resolve("tandem.yaml"), VALID.formatted(port));

        TandemProcess.Result r = TandemProcess.run(LIMIT, "run", "--config", file.toString(),
                "--max-config-size", "64");

        assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).contains(Files.size(file) + " bytes (expected at most 64 bytes; raise it with"
                + " --max-config-size)");
        assertThat(Net.isFree(port)).isTrue();
    }

    /**
     * A reload reads with the cap the node started with, and a FIFO swapped in for the file is
     * refused without blocking the control loop (the old code waited for a writer forever, and
     * every admin call with it).
     */
    @Test
    void aReloadAppliesTheStartCapAndRefusesAFifoWhileTheNodeKeepsServing() throws Exception {
        try (EchoServer backend = new EchoServer()) {
            int vip = Net.freePort();
            int admin = Net.freePort();
            String config = "admin: {listen: 127.0.0.1:" + admin + "}\n" + VALID.formatted(vip)
                    .replace("127.0.0.1:9001", backend.address());
            Path file = Files.writeString(dir.resolve("tandem.yaml"), config);
            try (TandemProcess node = TandemProcess.start("run", "--config", file.toString(), "--max-config-size",
                    "16KiB")) {
                node.awaitLine("node started", Duration.ofSeconds(30));
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
                HttpRequest reload = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/api/reload"))
                        .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.noBody()).build();

                Files.writeString(file, config + ("# " + "x".repeat(100) + "\n").repeat(200)); // ~20 KiB
                HttpResponse<String> tooBig = http.send(reload, HttpResponse.BodyHandlers.ofString());
                assertThat(tooBig.statusCode()).as(tooBig.body()).isEqualTo(422);
                assertThat(tooBig.body()).contains(Files.size(file) + " bytes (expected at most 16384 bytes; raise it"
                        + " with --max-config-size)");
                assertThat(Net.echoOnce(vip, "still")).isEqualTo("still");

                Files.move(fifo("next.fifo"), file, StandardCopyOption.REPLACE_EXISTING);
                HttpResponse<String> fifo = http.send(reload, HttpResponse.BodyHandlers.ofString());
                assertThat(fifo.statusCode()).as(fifo.body()).isEqualTo(422);
                assertThat(fifo.body()).contains("a FIFO (named pipe)");
                assertThat(Net.echoOnce(vip, "serving")).isEqualTo("serving");
            }
        }
    }
}
