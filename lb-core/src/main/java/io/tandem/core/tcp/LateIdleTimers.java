package io.tandem.core.tcp;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import io.netty.channel.EventLoop;
import java.util.ArrayList;

/**
 * Arms idle timers late, once per second per event loop, for the connections still open by
 * then. With a new connection per request almost every connection ends within milliseconds;
 * scheduling and cancelling a 10-minute timer for each cost a task allocation and two priority
 * queue operations per connection. The deadline is still computed from the connection's last
 * activity, so the timeout fires on time whenever it is longer than the delay; shorter timeouts
 * ({@code < MIN_IDLE_NANOS}) keep their immediate timer.
 *
 * <p>One instance per event loop ({@link TcpLoop#lateTimers}), used only on it: no synchronisation.
 */
final class LateIdleTimers {
    static final long MIN_IDLE_NANOS = SECONDS.toNanos(2);
    private static final long DELAY_MILLIS = 1000;

    /** A connection whose idle timer is armed late. */
    interface Armable {
        /** Arms the idle timer from the connection's last activity (on its loop). */
        void armIdleTimerLate();
    }

    private final EventLoop loop;
    private ArrayList<Armable> pending = new ArrayList<>();
    private ArrayList<Armable> spare = new ArrayList<>();
    private boolean scheduled;

    LateIdleTimers(EventLoop loop) {
        this.loop = loop;
    }

    /** Arms {@code conn}'s idle timer about a second from now, if it is still open then. */
    void add(Armable conn) {
        pending.add(conn);
        if (!scheduled) {
            scheduled = true;
            loop.schedule(this::armAll, DELAY_MILLIS, MILLISECONDS);
        }
    }

    private void armAll() {
        scheduled = false;
        ArrayList<Armable> due = pending;
        pending = spare;
        int n = due.size();
        for (int i = 0; i < n; i++) {
            due.get(i).armIdleTimerLate();
        }
        due.clear();
        if (n < 4096) {
            spare = due;
        } else {
            spare = new ArrayList<>(); // do not keep a burst's capacity forever
        }
    }
}
