package io.tandem.core.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real DNS server for tests: dnsmasq (Debian package {@code dnsmasq-base}; {@code .ci/run}
 * installs it) on loopback, authoritative for {@code tandem.test} from a hosts file the test
 * rewrites ({@link #hosts}, then {@link #reread}, i.e. SIGHUP), answering with a TTL the test
 * chooses; a name of {@code tandem.test} not in the file is NXDOMAIN, any other name REFUSED (no
 * upstream). Wrapped in {@code timeout} so it cannot outlive a crashed test JVM by long.
 */
public final class Dnsmasq implements AutoCloseable {
    public static final String BINARY = find();

    private final Process process;
    private final Path hostsFile;
    public final int port;

    private Dnsmasq(Process process, Path hostsFile, int port) {
        this.process = process;
        this.hostsFile = hostsFile;
        this.port = port;
    }

    /**
     * Starts dnsmasq on 127.0.0.1:{@code port} answering from {@code hostsFile}, written first with
     * {@code lines} ({@code "ip name"}), with TTL {@code ttlSeconds}. (Not a SIGHUP right after the
     * start: one that arrives before dnsmasq installs its handler kills it.)
     */
    public static Dnsmasq start(int port, Path hostsFile, int ttlSeconds, String... lines) throws IOException {
        Files.writeString(hostsFile, lines.length == 0 ? "" : String.join("\n", lines) + "\n");
        // Started as root, dnsmasq reads files as "nobody": let it into a test's private directory.
        Files.setPosixFilePermissions(hostsFile.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(hostsFile, PosixFilePermissions.fromString("rw-r--r--"));
        Process p = new ProcessBuilder("timeout", "-s", "KILL", "300", BINARY, "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
                "--listen-address=127.0.0.1", "--port=" + port, "--pid-file=", "--log-facility=-",
                "--addn-hosts=" + hostsFile, "--local-ttl=" + ttlSeconds, "--local=/tandem.test/")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Dnsmasq d = new Dnsmasq(p, hostsFile, port);
        awaitListening(port);
        return d;
    }

    /**
     * Returns once a dnsmasq on 127.0.0.1:{@code port} accepts DNS over TCP (it binds UDP first): a
     * test must not race its start.
     */
    public static void awaitListening(int port) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .pollInterval(java.time.Duration.ofMillis(20)).until(() -> {
                    try (java.net.Socket s = new java.net.Socket()) {
                        s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 200);
                        return true;
                    } catch (IOException e) {
                        return false;
                    }
                });
    }

    /** A loopback port free for both UDP and TCP (dnsmasq listens on both). */
    public static int freePort() throws IOException {
        for (int i = 0; i < 50; i++) {
            try (java.net.DatagramSocket udp = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress());
                 java.net.ServerSocket tcp = new java.net.ServerSocket(udp.getLocalPort(), 1,
                         java.net.InetAddress.getLoopbackAddress())) {
                return tcp.getLocalPort();
            } catch (java.net.BindException e) {
                // taken for TCP: try another
            }
        }
        throw new IOException("no port free for both UDP and TCP on loopback");
    }

    /** Rewrites the hosts file: lines of {@code "ip name"}. Call {@link #reread} after. */
    public void hosts(String... lines) throws IOException {
        Files.writeString(hostsFile, lines.length == 0 ? "" : String.join("\n", lines) + "\n");
    }

    /** SIGHUP: dnsmasq re-reads its hosts files (and answers from them at once). */
    public void reread() throws IOException, InterruptedException {
        for (ProcessHandle h : process.descendants().toList()) {
            Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(h.pid())).inheritIO().start();
            kill.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        List<ProcessHandle> children = new ArrayList<>(process.descendants().toList());
        children.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.onExit().completeOnTimeout(process, 10, TimeUnit.SECONDS).join();
        for (ProcessHandle c : children) {
            c.onExit().completeOnTimeout(c, 10, TimeUnit.SECONDS).join();
        }
    }

    private static String find() {
        for (String dir : new String[] {"/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"}) {
            Path p = Path.of(dir, "dnsmasq");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
