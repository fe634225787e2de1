package io.tandem.tests.fault;

import static java.util.Objects.requireNonNull;

import io.tandem.tests.support.BackendProcess;
import io.tandem.tests.support.Orphans;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Faults made by the kernel, the way production sees them: {@code SIGKILL} and
 * {@code SIGSTOP}/{@code SIGCONT} of the backend's real process, and {@code iptables} DROP (SYN
 * blackhole) or REJECT with a TCP reset on the backend's loopback port. The node talks to the
 * backends directly. Opening it sweeps rules and processes left by dead test JVMs; closing it
 * clears every fault it made (SIGCONT for a stopped process, rule deletion), so nothing outlives
 * the test; rules still installed when the JVM exits are removed by a shutdown hook.
 */
final class KernelFaults implements Faults {
    private static final Logger log = LoggerFactory.getLogger(KernelFaults.class);
    private static final Set<FaultKind> SUPPORTED = EnumSet.of(FaultKind.CRASH, FaultKind.HANG, FaultKind.BLACKHOLE,
            FaultKind.RESET);

    private final List<Fault> made = new ArrayList<>();

    private KernelFaults() {
    }

    static KernelFaults open() throws IOException {
        String why = Iptables.unusableBecause();
        Assumptions.assumeTrue(why == null, () -> "Kernel fault injection unavailable: " + why
                + ". Run as root on Linux with iptables (CI does); see docs/testing.md.");
        int swept = Iptables.sweep();
        int orphans = Orphans.sweep();
        if (swept + orphans > 0) {
            log.warn("swept leftovers of a crashed test run iptables_rules={} backend_processes={}", swept, orphans);
        }
        return new KernelFaults();
    }

    @Override
    public String name() {
        return "kernel";
    }

    @Override
    public Set<FaultKind> supported() {
        return SUPPORTED;
    }

    @Override
    public String route(BackendProcess backend) {
        return backend.address();
    }

    @Override
    public synchronized Fault fault(FaultKind kind, BackendProcess backend) {
        requireNonNull(kind, "kind");
        requireNonNull(backend, "backend");
        Fault f = switch (kind) {
            case CRASH -> new Crash(backend);
            case HANG -> new Hang(backend);
            case BLACKHOLE -> new Rule(kind, backend, Iptables.Action.DROP);
            case RESET -> new Rule(kind, backend, Iptables.Action.RESET);
            case LATENCY -> throw new UnsupportedOperationException("kind: LATENCY (expected one of " + SUPPORTED
                    + "; no netem qdisc on this kernel, use the Toxiproxy backend)");
            case RESET_BEFORE_ANSWER -> throw new UnsupportedOperationException("kind: RESET_BEFORE_ANSWER (expected "
                    + "one of " + SUPPORTED + "; use the Toxiproxy backend's reset_peer)");
        };
        made.add(f);
        return f;
    }

    @Override
    public synchronized void close() throws IOException {
        IOException first = null;
        for (Fault f : made.reversed()) {
            try {
                f.clear();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        made.clear();
        if (first != null) {
            throw first;
        }
    }

    /** SIGKILL; cannot be undone (clear is a no-op), the backend stays dead. */
    private static final class Crash implements Fault {
        private final BackendProcess backend;
        private boolean active;

        Crash(BackendProcess backend) {
            this.backend = backend;
        }

        @Override
        public FaultKind kind() {
            return FaultKind.CRASH;
        }

        @Override
        public String target() {
            return backend.toString();
        }

        @Override
        public boolean visibleAtConnect() {
            return true;
        }

        @Override
        public synchronized Instant apply() throws IOException {
            backend.kill9(); // returns once reaped: its sockets are closed
            active = true;
            return Instant.now();
        }

        @Override
        public synchronized void clear() {
            active = false;
        }

        @Override
        public synchronized boolean active() {
            return active;
        }
    }

    /** SIGSTOP / SIGCONT: the kernel still completes handshakes into the listen backlog. */
    private static final class Hang implements Fault {
        private final BackendProcess backend;
        private boolean active;

        Hang(BackendProcess backend) {
            this.backend = backend;
        }

        @Override
        public FaultKind kind() {
            return FaultKind.HANG;
        }

        @Override
        public String target() {
            return backend.toString();
        }

        @Override
        public boolean visibleAtConnect() {
            return false;
        }

        @Override
        public synchronized Instant apply() throws IOException {
            backend.signal("STOP");
            active = true;
            return Instant.now();
        }

        @Override
        public synchronized void clear() throws IOException {
            if (active && backend.isAlive()) {
                backend.signal("CONT");
            }
            active = false;
        }

        @Override
        public synchronized boolean active() {
            return active;
        }
    }

    /** An iptables rule on the backend's port; clear deletes it. */
    private static final class Rule implements Fault {
        private final FaultKind kind;
        private final BackendProcess backend;
        private final Iptables.Action action;
        private Iptables.Rule rule;

        Rule(FaultKind kind, BackendProcess backend, Iptables.Action action) {
            this.kind = kind;
            this.backend = backend;
            this.action = action;
        }

        @Override
        public FaultKind kind() {
            return kind;
        }

        @Override
        public String target() {
            return backend.toString();
        }

        @Override
        public boolean visibleAtConnect() {
            return true;
        }

        @Override
        public synchronized Instant apply() throws IOException {
            if (rule != null) {
                throw new IllegalStateException("fault already applied: " + rule.comment());
            }
            rule = Iptables.insert(backend.port(), action);
            return Instant.now();
        }

        @Override
        public synchronized void clear() throws IOException {
            if (rule != null) {
                rule.delete();
                rule = null;
            }
        }

        @Override
        public synchronized boolean active() {
            return rule != null;
        }
    }
}
