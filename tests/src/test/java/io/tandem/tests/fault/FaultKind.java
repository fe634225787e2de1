package io.tandem.tests.fault;

/**
 * What goes wrong with a backend, named by what the load balancer experiences, not by the tool
 * that causes it. A scenario picks a kind; a {@link Faults} backend maps it to a kernel mechanism
 * or a Toxiproxy toxic (see {@code docs/testing.md} for the table).
 */
public enum FaultKind {
    /** The server process dies at once: new connects are refused, open connections are reset. */
    CRASH,
    /** The server is alive to the kernel but answers nothing: connects succeed, requests hang. */
    HANG,
    /** Packets to the backend vanish: connects time out, open connections stall. */
    BLACKHOLE,
    /** Every packet to the backend is answered with a TCP reset: connects are refused. */
    RESET,
    /** Answers arrive late (added delay). Toxiproxy only: the kernel backend has no netem. */
    LATENCY,
    /**
     * Connects succeed, and every connection is reset when the client's first bytes arrive, before
     * any answer (a worker that crashes on each request, a proxy in front of a dead service).
     * Toxiproxy only ({@code reset_peer}).
     */
    RESET_BEFORE_ANSWER
}
