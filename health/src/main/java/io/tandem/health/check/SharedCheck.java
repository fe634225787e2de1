package io.tandem.health.check;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One probe schedule for one (address, spec), shared by every watcher of it. All mutable state
 * is confined to {@link #loop}; only {@link #state} is published for racy reads.
 */
final class SharedCheck {

    private static final Logger log = LoggerFactory.getLogger(SharedCheck.class);
    /** A watch the backend ends sooner than this was closed by it for idling, not by a death. */
    private static final long SHORT_WATCH_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** After this many short watches in a row the check stops watching (it would only churn). */
    private static final int SHORT_WATCHES_MAX = 3;

    final CheckKey key;
    final EventLoop loop;
    private final ProbeTemplate template;
    private final CheckStateMachine machine;
    private final InstantSource clock;
    private final Executor callbacks;
    private final String name;

    /** Guarded by the checker's registry lock. */
    int refs;

    // Loop-confined.
    private final List<Watcher> watchers = new ArrayList<>();
    private ScheduledFuture<?> timer;
    private Probe inFlight;
    private long inFlightStartNanos;
    private boolean stopped;
    private HealthTransition lastTransition;
    private volatile long probes;
    /** The watch connection ({@link WatchConnection}); null while none is open. */
    private WatchConnection watch;
    /** Watches are off for this check: the template does not watch, or the backend closes them at once. */
    private boolean watchOff;
    /** Watches in a row that the backend closed within {@link #SHORT_WATCH_NANOS} (idle-closing servers). */
    private int shortWatches;
    /** A watch was lost: failing probes repeat at once until the verdict is reached. */
    private boolean urgent;
    private volatile long watchesLost;

    private volatile CheckState state;

    SharedCheck(CheckKey key, EventLoop loop, ProbeTemplate template, CheckStateMachine machine,
                InstantSource clock, Executor callbacks) {
        this.key = key;
        this.loop = loop;
        this.template = template;
        this.machine = machine;
        this.clock = clock;
        this.callbacks = callbacks;
        this.state = machine.state();
        this.watchOff = !template.watches();
        this.name = ProbeTemplate.kind(key.spec()) + "://" + template.address().getAddress().getHostAddress()
                + ":" + template.address().getPort();
    }

    CheckState state() {
        return state;
    }

    /** Probes started so far (read on the loop, or racily for tests). */
    long probes() {
        return probes;
    }

    /** Watch connections this check lost so far (racy read, for tests and logs). */
    long watchesLost() {
        return watchesLost;
    }

    /** Whether the check currently holds a watch open (loop-confined; racy for tests). */
    boolean watching() {
        WatchConnection w = watch;
        return w != null && !w.ended();
    }

    void start() {
        run(() -> {
            if (machine.state() == CheckState.UP) {
                ensureWatch(); // trusted from the start: watched from the start, not from the first probe
            }
            schedule(machine.initialDelay());
        });
    }

    void addWatcher(Watcher w) {
        run(() -> {
            if (stopped || w.closed()) {
                return;
            }
            watchers.add(w);
            notifyWatcher(w, null);
        });
    }

    void removeWatcher(Watcher w) {
        run(() -> watchers.remove(w));
    }

    void probeNow() {
        run(() -> {
            if (stopped || inFlight != null) {
                return; // a probe in flight already answers the question
            }
            if (timer != null) {
                timer.cancel(false);
            }
            probe();
        });
    }

    void stop() {
        run(() -> {
            stopped = true;
            if (timer != null) {
                timer.cancel(false);
            }
            if (inFlight != null) {
                inFlight.cancel();
                inFlight = null;
            }
            if (watch != null) {
                watch.close();
                watch = null;
            }
            watchers.clear();
        });
    }

    private void run(Runnable task) {
        LoopTasks.onLoop(loop, task, log, "health check", name);
    }

    private void schedule(Duration delay) {
        if (stopped) {
            return;
        }
        timer = loop.schedule(this::probe, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void probe() {
        if (stopped || inFlight != null) {
            return;
        }
        probes++;
        inFlightStartNanos = System.nanoTime();
        Probe p = template.newProbe(loop, this::onOutcome);
        inFlight = p;
        p.start();
    }

    private void onOutcome(Probe.Outcome outcome) {
        inFlight = null;
        if (stopped) {
            return;
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - inFlightStartNanos);
        Optional<HealthTransition> t = machine.result(outcome.passed(), outcome.detail());
        state = machine.state();
        ProbeResult result = new ProbeResult(outcome.passed(), outcome.detail(), clock.instant(), elapsed);
        if (!outcome.passed()) {
            log.debug("health probe failed check={} reason=\"{}\" elapsed_ms={} state={}",
                    name, outcome.detail(), elapsed.toMillis(), state);
        }
        t.ifPresent(tr -> {
            lastTransition = tr;
            if (tr.to() == CheckState.UP && template.watches()) {
                // A backend back from DOWN is a new process: whatever turned its watch off (idle
                // closes, refused watches) is learnt again.
                watchOff = false;
                shortWatches = 0;
            }
            log.info("health check transition check={} from={} to={} reason=\"{}\" detection_ms={}",
                    name, tr.from(), tr.to(), tr.reason(), tr.detectionLatency().toMillis());
        });
        for (Watcher w : watchers) {
            notifyWatcher(w, result);
        }
        if (outcome.passed()) {
            urgent = false;
            ensureWatch();
        } else if (urgent && machine.state() != CheckState.DOWN) {
            // The watch saw the connection end and this probe confirms a failure (refused, reset):
            // the next one now, not after fast_interval, so fall is reached in a few RTTs.
            probe();
            return;
        } else if (machine.state() == CheckState.DOWN) {
            urgent = false;
        }
        schedule(machine.nextDelay());
    }

    /** Opens a watch if this check watches and none is open (after a passing probe). */
    private void ensureWatch() {
        if (watchOff || stopped || (watch != null && !watch.ended())) {
            return;
        }
        watch = template.newWatch(loop, this::watchLost);
    }

    /**
     * The watch connection ended. A backend that closes idle connections (an HTTP server) does
     * that too: the probe sent now passes, and nothing changes. One that ends (or refuses) every
     * watch within a second, three times in a row, is not watched until it is next marked up
     * (said once at INFO): that bounds the probes a lost watch asks for.
     */
    private void watchLost(WatchConnection lostWatch, String why) {
        if (lostWatch != watch) {
            return; // an earlier watch, already replaced after a passing probe
        }
        watch = null;
        watchesLost++;
        if (lostWatch.livedNanos() < SHORT_WATCH_NANOS) {
            if (++shortWatches >= SHORT_WATCHES_MAX) {
                watchOff = true;
                log.info("health watch off check={} reason=\"the backend ended {} watch connections in a row within "
                        + "1 s of opening (it closes idle connections or refuses them): failures are found by probes only "
                        + "until it is next marked up\"",
                        name, shortWatches);
            }
        } else {
            shortWatches = 0;
        }
        if (stopped) {
            return;
        }
        log.debug("health watch lost check={} reason=\"{}\": probing now", name, why);
        urgent = true;
        if (inFlight == null) {
            if (timer != null) {
                timer.cancel(false);
            }
            probe();
        }
    }

    /** Tells a watcher the current verdict if it differs from what it knows, plus the probe result. */
    private void notifyWatcher(Watcher w, ProbeResult result) {
        HealthTransition t = null;
        CheckState verdict = machine.state().verdict();
        boolean known = verdict != CheckState.PENDING && (machine.results() > 0 || w.trusted());
        if (known && w.delivered != verdict) {
            if (lastTransition != null && lastTransition.to() == verdict) {
                t = lastTransition.from() == w.delivered ? lastTransition
                        : new HealthTransition(w.delivered, verdict, lastTransition.reason(),
                        lastTransition.firstSignalAt(), lastTransition.at());
            } else {
                Instant now = clock.instant();
                t = new HealthTransition(w.delivered, verdict, "shared check is " + verdict.name().toLowerCase(Locale.ROOT), now, now);
            }
            w.delivered = verdict;
        }
        ProbeResult wanted = w.wantsProbes() ? result : null;
        if (t == null && wanted == null) {
            return; // nothing this watcher listens for: no task, no wake-up of the callback thread
        }
        HealthTransition transition = t;
        LoopTasks.toCallbacks(callbacks, () -> w.deliver(transition, wanted), log, "health", name);
    }

    @Override
    public String toString() {
        return name;
    }
}
