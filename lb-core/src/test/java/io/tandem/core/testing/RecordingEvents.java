package io.tandem.core.testing;

import io.tandem.core.pool.Backend;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.Vip;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the passive signals the data path reports. */
public final class RecordingEvents implements ConnectionEvents {
    public final AtomicInteger connected = new AtomicInteger();
    public final AtomicInteger connectFailed = new AtomicInteger();
    public final AtomicInteger responseTimedOut = new AtomicInteger();
    /** The backends reported as self-loops, with their VIP's name: "vip=backend", in report order. */
    public final Queue<String> selfLoops = new ConcurrentLinkedQueue<>();
    /** The causes of connect failures, in report order. */
    public final Queue<Throwable> connectFailures = new ConcurrentLinkedQueue<>();
    /** The waitedNanos of each response timeout, in report order. */
    public final Queue<Long> responseWaits = new ConcurrentLinkedQueue<>();

    @Override
    public void responseTimedOut(Vip vip, Backend backend, long waitedNanos) {
        responseWaits.add(waitedNanos);
        responseTimedOut.incrementAndGet();
    }

    @Override
    public void connectFailed(Vip vip, Backend backend, Throwable cause, long elapsedNanos) {
        connectFailures.add(cause);
        connectFailed.incrementAndGet();
    }

    @Override
    public void selfLoop(Vip vip, Backend backend) {
        selfLoops.add(vip.name() + "=" + backend.address());
    }

    /** Connections the backend ended before answering: "reset" or "close", in report order. */
    public final Queue<String> closedBeforeResponse = new ConcurrentLinkedQueue<>();
    public final AtomicInteger answered = new AtomicInteger();

    @Override
    public void closedBeforeResponse(Vip vip, Backend backend, boolean reset) {
        closedBeforeResponse.add(reset ? "reset" : "close");
    }

    @Override
    public void answered(Vip vip, Backend backend) {
        answered.incrementAndGet();
    }

    @Override
    public void connected(Vip vip, Backend backend, long elapsedNanos) {
        connected.incrementAndGet();
    }
}
