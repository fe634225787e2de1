package io.tandem.core.tcp;

import static java.util.concurrent.TimeUnit.MILLISECONDS;

import io.tandem.config.OutlierDetection;
import io.tandem.config.ResponseTimeoutMode;
import io.tandem.config.VipConfig;

/**
 * Hung-backend detection for one proxied connection ({@code outlier_detection.response_timeout}):
 * is the backend silent while it owes the client an answer? A stopped or deadlocked backend
 * still completes handshakes (its kernel does), so only this silence gives it away.
 *
 * <p>The backend owes an answer from the client's first bytes that it has not answered: in
 * {@code FIRST_RESPONSE} mode only until its first byte on the connection, in
 * {@code EVERY_REQUEST} mode again after every client send that follows its last answer. A
 * connection whose client never sends owes nothing, so server-speaks-first protocols and idle
 * pooled connections never time out. A timeout is reported once per silence; the connection is
 * left alone (the control loop decides what to do with the backend and its connections).
 *
 * <p>Copied bytes are seen as they are read ({@link #clientSent}, {@link #backendSent}: no
 * allocation, a few field writes). Spliced bytes never reach the JVM: while a direction splices,
 * {@link #check} asks the kernel (TCP_INFO byte counter, then {@code tcpi_last_data_recv}) from
 * the connection's timer, polling once per timeout while that is the only way to see an event.
 * <ul>
 *   <li>Backend direction spliced: each copied client read takes the backend socket's kernel
 *       byte count (one getsockopt, no allocation): if it grew since the clock started the
 *       backend answered and this send starts a new silence; any later backend byte answers
 *       it. Exact.</li>
 *   <li>Client direction spliced (only in {@code FIRST_RESPONSE} mode: {@link ProxyConnection}
 *       copies that direction in {@code EVERY_REQUEST} mode, because kernel timestamps have
 *       jiffy resolution and cannot order a quick keep-alive request after the previous
 *       answer): a poll that finds new client bytes starts the clock at the client's latest
 *       send ({@code tcpi_last_data_recv}, rounded late), never earlier than the truth. So
 *       detection is never early, and up to one timeout late when the client kept sending.</li>
 * </ul>
 *
 * <p>Confined to the connection's event loop; {@link ProxyConnection} owns the single timer and
 * schedules it at {@link #nextCheck}.
 */
final class ResponseWatch {
    static final long NONE = Long.MAX_VALUE;
    /** {@code tcpi_last_data_recv} counts jiffies: up to 10 ms off at HZ=100. */
    static final long KERNEL_SLACK = MILLISECONDS.toNanos(10);

    private final long timeoutNanos;
    private final boolean everyRequest;
    /** Start of the silence: the client's first send the backend has not answered, or NONE. */
    private long since = NONE;
    /** The backend sent something on this connection. */
    private boolean answered;
    /** The current silence was reported. */
    private boolean reported;
    /** Kernel byte counts of spliced sources already looked at; -1 until the first look. */
    private long clientSeen = -1;
    private long backendSeen = -1;

    private ResponseWatch(long timeoutNanos, boolean everyRequest) {
        this.timeoutNanos = timeoutNanos;
        this.everyRequest = everyRequest;
    }

    /** A watch for a connection of a VIP with {@code config}, or null when the VIP has no response timeout. */
    static ResponseWatch of(VipConfig config) {
        OutlierDetection od = config.health().outlierDetection();
        long timeout = od.responseTimeout().toNanos();
        return timeout > 0 ? new ResponseWatch(timeout, od.responseTimeoutMode() == ResponseTimeoutMode.EVERY_REQUEST)
                : null;
    }

    long timeoutNanos() {
        return timeoutNanos;
    }

    boolean everyRequest() {
        return everyRequest;
    }

    /** The client's bytes were read and sent to the backend. */
    void clientSent(long now, Direction down) {
        if (!everyRequest && answered) {
            return;
        }
        if (!down.kernelOnly()) {
            if (since == NONE) {
                since = now;
            }
            return;
        }
        // The backend's answers bypass us: one getsockopt per client read tells whether it
        // answered since the clock started (then this send starts a new silence), and marks the
        // count that any later backend byte must exceed to answer this send.
        if (backendGrew(down)) {
            backendSent();
        }
        if (since == NONE && (everyRequest || !answered)) {
            since = now;
        }
    }

    /** The backend sent bytes (or its FIN): whatever it owed is answered and a new silence may begin. */
    void backendSent() {
        answered = true;
        since = NONE;
        reported = false;
    }

    /**
     * Looks at spliced directions and decides. Returns how long the backend has been silent when
     * that is a timeout to report now (at most once per silence), else -1.
     *
     * @param clientWritable false while the client is not taking the bytes already relayed to it:
     *                       the backend may have answered into buffers we do not read, so the
     *                       clock restarts instead of blaming it
     */
    long check(long now, Direction up, Direction down, boolean clientWritable) {
        if (!everyRequest && (answered || reported)) {
            return -1;
        }
        if (down.kernelOnly()) {
            sampleBackend(down);
        }
        if (up.kernelOnly() && since == NONE && !answered) {
            sampleClient(now, up);
        }
        if (since == NONE || reported) {
            return -1;
        }
        if (!clientWritable) {
            since = now;
            return -1;
        }
        long waited = now - since;
        if (waited < timeoutNanos) {
            return -1;
        }
        reported = true;
        return waited;
    }

    /** When {@link #check} should next run, or {@link #NONE} when only a relayed byte can change anything. */
    long nextCheck(long now, Direction up, Direction down) {
        if (!everyRequest && (answered || reported)) {
            return NONE;
        }
        if (since != NONE && !reported) {
            return since + timeoutNanos;
        }
        // Spliced events reach us only by polling: a client send when none is owed, an answer after a report.
        boolean poll = (since == NONE && !answered && up.kernelOnly()) || (reported && down.kernelOnly());
        return poll ? now + timeoutNanos : NONE;
    }

    /** Any backend byte the kernel received since the last look (or since the clock started) is an answer. */
    private void sampleBackend(Direction down) {
        if (backendGrew(down)) {
            backendSent();
        }
    }

    /** Whether the spliced backend sent bytes not looked at yet; marks them looked at. */
    private boolean backendGrew(Direction down) {
        long bytes = TcpInfo.bytesReceived(down.sourceFd());
        if (backendSeen < 0) {
            backendSeen = down.counted(); // what was copied before the direction spliced
        }
        if (bytes > backendSeen) { // -1 (TCP_INFO unavailable) never is
            backendSeen = bytes;
            return true;
        }
        return false;
    }

    private void sampleClient(long now, Direction up) {
        int fd = up.sourceFd();
        long bytes = TcpInfo.bytesReceived(fd);
        if (bytes < 0) {
            return;
        }
        if (up.inputDone()) {
            bytes--; // the FIN takes a sequence number, and tcpi_bytes_received counts it
        }
        if (clientSeen < 0) {
            clientSeen = up.counted();
        }
        if (bytes <= clientSeen || (bytes == clientSeen + 1 && !up.inputDone())) {
            return; // nothing new, or maybe only a FIN this loop has not processed yet: look again next poll
        }
        clientSeen = bytes;
        since = latest(now, TcpInfo.lastDataRecvMillis(fd)); // the latest send, rounded late: never early
    }

    /** The latest time data can have arrived, {@code millisAgo} (kernel jiffies) before {@code now}. */
    private static long latest(long now, long millisAgo) {
        return millisAgo < 0 ? now : Math.min(now, now - MILLISECONDS.toNanos(millisAgo) + KERNEL_SLACK);
    }
}
