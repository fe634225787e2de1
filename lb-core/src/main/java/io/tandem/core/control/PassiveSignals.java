package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.core.pool.Backend;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.Vip;
import io.tandem.sys.Errno;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * The passive signals the data path reports, on its event loops: counted there, filtered (the
 * node's own resource errors never count against a backend), stamped with the time they were
 * seen, and posted to the control loop as {@link Reconciler} inputs. Only a success that ends a
 * failure streak goes there at all: the common case costs the data path one read.
 */
final class PassiveSignals implements ConnectionEvents {
    private final Clock clock;
    private final Effects.Post loop;

    PassiveSignals(Clock clock, Effects.Post loop) {
        this.clock = requireNonNull(clock, "clock");
        this.loop = requireNonNull(loop, "loop");
    }

    @Override
    public void connectFailed(Vip vip, Backend backend, Throwable cause, long elapsedNanos) {
        if (Errno.local(cause) != 0) {
            // The node's own resource error (out of descriptors, memory, ports): the data path
            // keeps these out already (LocalErrors); never let one count against a backend.
            return;
        }
        backend.stats().failureStreak.incrementAndGet();
        failed(vip, backend, "connect failed: " + describe(cause), "connect");
    }

    @Override
    public void responseTimedOut(Vip vip, Backend backend, long waitedNanos) {
        // Not part of the connect-failure streak: a hung backend still completes handshakes, and
        // those successful connects must not reset its count of unanswered requests.
        failed(vip, backend, "no response within " + TimeUnit.NANOSECONDS.toMillis(waitedNanos) + " ms of client data",
                "response-timeout");
    }

    @Override
    public void closedBeforeResponse(Vip vip, Backend backend, boolean reset) {
        // Not part of the connect-failure streak: such a backend completes every connect, and those
        // connects must not end its count. The data path keeps its own streak
        // (BackendStats.unansweredStreak) and reports an answer only when it ends one.
        failed(vip, backend, (reset ? "reset" : "closed") + " by the backend before any response", "closed-before-response");
    }

    @Override
    public void answered(Vip vip, Backend backend) {
        loop.post((r, now) -> r.connectSucceeded(vip, backend, now));
    }

    private void failed(Vip vip, Backend backend, String reason, String kind) {
        Instant at = clock.instant(); // detection latency counts the time the signal waits for the loop
        loop.post((r, now) -> r.passiveFailure(vip, backend, reason, at, kind, now));
    }

    @Override
    public void selfLoop(Vip vip, Backend backend) {
        loop.post((r, now) -> r.selfLoop(vip, backend, now));
    }

    @Override
    public void connected(Vip vip, Backend backend, long elapsedNanos) {
        if (backend.stats().failureStreak.get() > 0 && backend.stats().failureStreak.getAndSet(0) > 0) {
            loop.post((r, now) -> r.connectSucceeded(vip, backend, now));
        }
    }

    /** "connect(..) failed: Connection refused: /127.0.0.1:9001" becomes "connection refused". */
    static String describe(Throwable cause) {
        String m = cause.getMessage();
        if (m == null || m.isBlank()) {
            return cause.getClass().getSimpleName();
        }
        m = m.replaceFirst(":\\s*/?[0-9A-Za-z.:\\[\\]%-]*$", "").replaceFirst("^[a-z_]+\\(\\.\\.\\) failed: ", "");
        return m.isEmpty() ? cause.getClass().getSimpleName() : Character.toLowerCase(m.charAt(0)) + m.substring(1);
    }
}
