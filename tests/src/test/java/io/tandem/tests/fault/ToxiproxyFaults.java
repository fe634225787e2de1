package io.tandem.tests.fault;

import static java.util.Objects.requireNonNull;

import eu.rekawek.toxiproxy.Proxy;
import eu.rekawek.toxiproxy.ToxiproxyClient;
import eu.rekawek.toxiproxy.model.Toxic;
import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.tandem.tests.support.BackendProcess;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Faults made by Toxiproxy: a real {@code toxiproxy-server} process (Toxiproxy 2.8.0, built from
 * source: {@code ../shared/tools/toxiproxy/BUILD.md}) on loopback, one proxy per backend, and the
 * node is configured with the proxies' addresses instead of the backends'. Kinds map to toxics:
 * HANG = {@code timeout} toxic with timeout 0 (data held, never answered), LATENCY =
 * {@code latency} (300 ms on the answers), RESET_BEFORE_ANSWER = {@code reset_peer} with timeout 0
 * on the client's bytes; CRASH kills the backend process and disables its
 * proxy. There is no BLACKHOLE: the proxy always completes the handshake itself, which is also why
 * no Toxiproxy fault is {@link Fault#visibleAtConnect() visible at connect}.
 *
 * <p>The server binary is found at {@code $TANDEM_TOXIPROXY}, then {@code
 * ../shared/tools/toxiproxy/toxiproxy-server} beside the checkout, then on {@code PATH}; without
 * one {@link #open()} skips the calling test with a message saying where it looked.
 */
final class ToxiproxyFaults implements Faults {
    private static final int MAX_PROXIES = 32;
    /**
     * No RESET: Toxiproxy's {@code reset_peer} resets a connection the proxy has already accepted,
     * a different fault from the kernel's refused connect that the RESET scenario means; it is
     * {@link FaultKind#RESET_BEFORE_ANSWER}, which only Toxiproxy makes.
     */
    private static final Set<FaultKind> SUPPORTED = EnumSet.of(FaultKind.CRASH, FaultKind.HANG, FaultKind.LATENCY,
            FaultKind.RESET_BEFORE_ANSWER);
    /** The {@code latency} toxic's delay on the backend's answers. */
    static final long LATENCY_MILLIS = 300;

    private final Process server;
    private final ToxiproxyClient client;
    private final Map<Integer, Proxy> proxies = new HashMap<>();
    private final List<Fault> made = new ArrayList<>();

    private ToxiproxyFaults(Process server, ToxiproxyClient client) {
        this.server = server;
        this.client = client;
    }

    /** Where the server binary is, if anywhere. */
    static Optional<Path> serverBinary() {
        Stream<Path> candidates = Stream.concat(
                Stream.ofNullable(System.getenv("TANDEM_TOXIPROXY")).map(Path::of),
                Stream.concat(Stream.of(Path.of("..", "..", "shared", "tools", "toxiproxy", "toxiproxy-server"),
                                Path.of("..", "shared", "tools", "toxiproxy", "toxiproxy-server")),
                        Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                                .filter(d -> !d.isEmpty()).map(d -> Path.of(d, "toxiproxy-server"))));
        return candidates.map(Path::toAbsolutePath).map(Path::normalize).filter(Files::isExecutable).findFirst();
    }

    static ToxiproxyFaults open() throws IOException {
        Optional<Path> binary = serverBinary();
        Assumptions.assumeTrue(binary.isPresent(), "toxiproxy-server not found ($TANDEM_TOXIPROXY, "
                + "../shared/tools/toxiproxy/ beside the checkout, PATH): Toxiproxy scenarios skipped; the same "
                + "scenarios run through kernel faults in the [kernel] runs of BackendProcessFaultIT and BackendNetworkFaultIT");
        int port = freePort();
        Process p = new ProcessBuilder(binary.get().toString(), "-host", "127.0.0.1", "-port", Integer.toString(port))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                break;
            } catch (IOException notYet) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IOException("toxiproxy-server " + binary.get() + " did not listen on 127.0.0.1:" + port
                            + (p.isAlive() ? " within 20 s" : " (exited " + p.exitValue() + ")"), notYet);
                }
                sleep(Duration.ofMillis(20)); // polling a port a child process is about to open
            }
        }
        return new ToxiproxyFaults(p, new ToxiproxyClient("127.0.0.1", port));
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleep(Duration d) throws IOException {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    @Override
    public String name() {
        return "toxiproxy";
    }

    @Override
    public Set<FaultKind> supported() {
        return SUPPORTED;
    }

    @Override
    public synchronized String route(BackendProcess backend) throws IOException {
        int index = proxies.size();
        if (index >= MAX_PROXIES) {
            throw new IOException("proxies: " + (index + 1) + " (expected at most " + MAX_PROXIES + ")");
        }
        int listen = freePort();
        Proxy p = client.createProxy(backend.name() + "-" + backend.port(), "127.0.0.1:" + listen,
                "127.0.0.1:" + backend.port());
        proxies.put(backend.port(), p);
        return "127.0.0.1:" + listen;
    }

    private synchronized Proxy proxyOf(BackendProcess backend) {
        Proxy p = proxies.get(backend.port());
        if (p == null) {
            throw new IllegalStateException("backend " + backend + " has no proxy: call route() first");
        }
        return p;
    }

    @Override
    public synchronized Fault fault(FaultKind kind, BackendProcess backend) {
        requireNonNull(kind, "kind");
        requireNonNull(backend, "backend");
        Proxy p = proxyOf(backend);
        String name = kind.name().toLowerCase() + "-" + made.size();
        Fault f = switch (kind) {
            case CRASH -> new ProxyFault(kind, backend, () -> {
                backend.kill9();
                p.disable();
                return null;
            }, p::enable);
            case HANG -> toxic(kind, backend, () -> p.toxics().timeout(name, ToxicDirection.UPSTREAM, 0));
            case RESET -> throw new UnsupportedOperationException("kind: RESET (expected one of " + SUPPORTED
                    + "; reset_peer resets after the proxy accepted, not at connect: use the kernel backend)");
            case LATENCY -> toxic(kind, backend, () -> p.toxics().latency(name, ToxicDirection.DOWNSTREAM,
                    LATENCY_MILLIS));
            // reset_peer upstream, timeout 0: the proxy resets the connection as the client's first bytes arrive
            case RESET_BEFORE_ANSWER -> toxic(kind, backend, () -> p.toxics().resetPeer(name, ToxicDirection.UPSTREAM,
                    0));
            case BLACKHOLE -> throw new UnsupportedOperationException("kind: BLACKHOLE (expected one of " + SUPPORTED
                    + "; a proxy completes every handshake itself, use the kernel backend)");
        };
        made.add(f);
        return f;
    }

    private static Fault toxic(FaultKind kind, BackendProcess backend, IoSupplier<Toxic> add) {
        Toxic[] t = new Toxic[1];
        return new ProxyFault(kind, backend, () -> {
            t[0] = add.get();
            return null;
        }, () -> {
            if (t[0] != null) {
                t[0].remove();
                t[0] = null;
            }
        });
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            for (Fault f : made.reversed()) {
                f.clear();
            }
        } finally {
            made.clear();
            server.destroy(); // SIGTERM; the proxies' listeners go with the process
            try {
                if (!server.waitFor(5, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
            } catch (InterruptedException e) {
                server.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    @FunctionalInterface
    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    private static final class ProxyFault implements Fault {
        private final FaultKind kind;
        private final BackendProcess backend;
        private final IoSupplier<Void> on;
        private final IoAction off;
        private boolean active;

        ProxyFault(FaultKind kind, BackendProcess backend, IoSupplier<Void> on, IoAction off) {
            this.kind = kind;
            this.backend = backend;
            this.on = on;
            this.off = off;
        }

        @Override
        public FaultKind kind() {
            return kind;
        }

        @Override
        public String target() {
            return backend + " via toxiproxy";
        }

        @Override
        public boolean visibleAtConnect() {
            return false;
        }

        @Override
        public synchronized Instant apply() throws IOException {
            on.get();
            active = true;
            return Instant.now();
        }

        @Override
        public synchronized void clear() throws IOException {
            if (active) {
                off.run();
                active = false;
            }
        }

        @Override
        public synchronized boolean active() {
            return active;
        }
    }
}
