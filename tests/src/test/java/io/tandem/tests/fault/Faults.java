package io.tandem.tests.fault;

import io.tandem.tests.support.BackendProcess;
import java.io.IOException;
import java.util.Set;

/**
 * A way to inject {@link Fault}s into backends. Two implementations share this interface so a
 * scenario is written once and runs through either:
 * <ul>
 *   <li>{@link #kernel()}: real signals to the backend process and {@code iptables} rules on
 *       loopback. Needs root and iptables; otherwise the test is skipped (JUnit assumption) with a
 *       message saying so.</li>
 *   <li>{@link #toxiproxy()}: a Toxiproxy container (Testcontainers) in front of every backend,
 *       with toxics. Needs a Docker engine; otherwise skipped with a message.</li>
 * </ul>
 * A scenario asks {@link #route} for the address the node should use for each backend (the
 * backend itself, or its proxy), checks {@link #supports} for the kind it needs, and closes the
 * {@code Faults} at the end, which clears everything it made.
 */
public interface Faults extends AutoCloseable {
    /** Kernel faults; skips the calling test when not root or iptables is unusable. */
    static Faults kernel() throws IOException {
        return KernelFaults.open();
    }

    /** Toxiproxy faults; skips the calling test when no Docker engine is reachable. */
    static Faults toxiproxy() throws IOException {
        return ToxiproxyFaults.open();
    }

    /** {@code "kernel"} or {@code "toxiproxy"}, for parameterized scenarios. */
    static Faults named(String name) throws IOException {
        return switch (name) {
            case "kernel" -> kernel();
            case "toxiproxy" -> toxiproxy();
            default -> throw new IllegalArgumentException("faults: \"" + name + "\" (expected kernel or toxiproxy)");
        };
    }

    String name();

    Set<FaultKind> supported();

    default boolean supports(FaultKind kind) {
        return supported().contains(kind);
    }

    /** The {@code host:port} the node should send this backend's traffic to. */
    String route(BackendProcess backend) throws IOException;

    /** A new fault of {@code kind} on {@code backend}, not yet applied. */
    Fault fault(FaultKind kind, BackendProcess backend);

    /** Clears every fault this made and releases its resources (rules, proxies, container). */
    @Override
    void close() throws IOException;
}
