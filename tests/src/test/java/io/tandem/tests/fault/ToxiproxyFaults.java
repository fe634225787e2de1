package io.tandem.tests.fault;

import static java.util.Objects.requireNonNull;

import eu.rekawek.toxiproxy.Proxy;
import eu.rekawek.toxiproxy.ToxiproxyClient;
import eu.rekawek.toxiproxy.model.Toxic;
import eu.rekawek.toxiproxy.model.ToxicDirection;
import io.tandem.tests.support.BackendProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.Testcontainers;
import org.testcontainers.toxiproxy.ToxiproxyContainer;

/**
 * Faults made by Toxiproxy (Testcontainers): one proxy per backend inside a Toxiproxy container,
 * and the node is configured with the proxies' mapped loopback ports instead of the backends.
 * Kinds map to toxics: HANG = {@code timeout} toxic with timeout 0 (data held, never answered),
 * RESET = {@code reset_peer}, LATENCY = {@code latency}; CRASH kills the backend process and
 * disables its proxy. There is no BLACKHOLE: the proxy always completes the handshake itself, which
 * is also why no Toxiproxy fault is {@link Fault#visibleAtConnect() visible at connect}.
 *
 * <p>Needs a Docker engine; without one {@link #open()} skips the calling test.
 */
final class ToxiproxyFaults implements Faults {
    static final String IMAGE = "ghcr.io/shopify/toxiproxy:2.5.0";
    private static final int FIRST_PROXY_PORT = 8666; // the container exposes 8666..8697
    private static final int MAX_PROXIES = 32;
    private static final Set<FaultKind> SUPPORTED = EnumSet.of(FaultKind.CRASH, FaultKind.HANG, FaultKind.RESET,
            FaultKind.LATENCY);

    private final ToxiproxyContainer container;
    private final ToxiproxyClient client;
    private final Map<Integer, Proxy> proxies = new HashMap<>();
    private final List<Fault> made = new ArrayList<>();

    private ToxiproxyFaults(ToxiproxyContainer container) {
        this.container = container;
        this.client = new ToxiproxyClient(container.getHost(), container.getControlPort());
    }

    static ToxiproxyFaults open() {
        boolean docker;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            docker = false;
        }
        Assumptions.assumeTrue(docker, "Docker engine not available: Toxiproxy scenarios skipped; the same "
                + "scenarios run through kernel faults in the [kernel] runs of BackendProcessFaultIT and BackendNetworkFaultIT");
        ToxiproxyContainer c = new ToxiproxyContainer(IMAGE).withAccessToHost(true);
        c.start();
        return new ToxiproxyFaults(c);
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
        Testcontainers.exposeHostPorts(backend.port());
        int listen = FIRST_PROXY_PORT + index;
        Proxy p = client.createProxy(backend.name() + "-" + backend.port(), "0.0.0.0:" + listen,
                "host.testcontainers.internal:" + backend.port());
        proxies.put(backend.port(), p);
        String host = container.getHost();
        String ip = InetAddress.getByName(host).getHostAddress(); // "localhost" -> an IP literal
        return ip + ":" + container.getMappedPort(listen);
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
            case RESET -> toxic(kind, backend, () -> p.toxics().resetPeer(name, ToxicDirection.UPSTREAM, 0));
            case LATENCY -> toxic(kind, backend, () -> p.toxics().latency(name, ToxicDirection.DOWNSTREAM, 500));
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
            container.stop();
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
