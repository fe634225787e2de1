package io.tandem.core.tcp;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;

/**
 * Arms idle timers late, once per second per event loop, for the connections still open by
 * then. With a new connection per request almost every connection ends within milliseconds;
 * scheduling and cancelling a 10-minute timer for each cost a task allocation and two priority
 * queue operations per connection (perf/PROFILE.md). The deadline is still computed from the
 * connection's last activity, so the timeout fires on time whenever it is longer than the
 * delay; shorter timeouts ({@code < MIN_IDLE_NANOS}) keep their immediate timer.
 *
 * <p>One instance per event-loop thread, used only on it: no synchronisation.
 */
final class LateIdleTimers {
    static final long MIN_IDLE_NANOS = SECONDS.toNanos(2);
    private static final long DELAY_MILLIS = 1000;
    private static final FastThreadLocal<LateIdleTimers> PER_LOOP = new FastThreadLocal<>() {
        @Override
        protected LateIdleTimers initialValue() {
            return new LateIdleTimers();
        }
    };

    /** A connection whose idle timer is armed late. */
    interface Armable {
        /** Arms the idle timer from the connection's last activity (on its loop). */
        void armIdleTimerLate();
    }

    private ArrayList<Armable> pending = new ArrayList<>();
    private ArrayList<Armable> spare = new ArrayList<>();
    private boolean scheduled;

    private LateIdleTimers() {
    }

    /** Call on {@code loop} (the connection's loop). */
    static void add(Armable conn, EventLoop loop) {
        LateIdleTimers timers = PER_LOOP.get();
        timers.pending.add(conn);
        if (!timers.scheduled) {
            timers.scheduled = true;
            loop.schedule(timers::armAll, DELAY_MILLIS, MILLISECONDS);
        }
    }

    private void armAll() {
        scheduled = false;
        ArrayList<Armable> due = pending;
        pending = spare;
        for (int i = 0; i < due.size(); i++) {
            due.get(i).armIdleTimerLate();
        }
        due.clear();
        if (due.size() < 4096) {
            spare = due;
        } else {
            spare = new ArrayList<>(); // do not keep a burst's capacity forever
        }
    }
}
