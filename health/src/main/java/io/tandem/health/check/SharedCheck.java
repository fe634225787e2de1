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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One probe schedule for one (address, spec), shared by every watcher of it. All mutable state
 * is confined to {@link #loop}; only {@link #state} is published for racy reads.
 */
final class SharedCheck {

    private static final Logger log = LoggerFactory.getLogger(SharedCheck.class);

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

    void start() {
        run(() -> schedule(machine.initialDelay()));
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
            watchers.clear();
        });
    }

    private void run(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("health check task dropped, event loop shut down check={}", name);
        }
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
            log.info("health check transition check={} from={} to={} reason=\"{}\" detection_ms={}",
                    name, tr.from(), tr.to(), tr.reason(), tr.detectionLatency().toMillis());
        });
        for (Watcher w : watchers) {
            notifyWatcher(w, result);
        }
        schedule(machine.nextDelay());
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
        if (t == null && result == null) {
            return;
        }
        HealthTransition transition = t;
        try {
            callbacks.execute(() -> w.deliver(transition, result));
        } catch (RejectedExecutionException e) {
            log.warn("health callback dropped, callback executor rejected it check={}", name);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
