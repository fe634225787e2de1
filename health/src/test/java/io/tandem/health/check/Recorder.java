package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Collects what a watcher is told, and waits for it with a bound. */
final class Recorder implements CheckListener {
    final BlockingQueue<HealthTransition> transitions = new LinkedBlockingQueue<>();
    final List<ProbeResult> probes = new CopyOnWriteArrayList<>();

    @Override
    public void onTransition(HealthTransition t) {
        transitions.add(t);
    }

    @Override
    public void onProbe(ProbeResult r) {
        probes.add(r);
    }

    HealthTransition next() throws InterruptedException {
        HealthTransition t = transitions.poll(20, TimeUnit.SECONDS);
        if (t == null) {
            // The stacks of every thread say which loop or callback hung (a CI run once saw none).
            Thread.getAllStackTraces().forEach((th, st) -> {
                StringBuilder b = new StringBuilder("thread ").append(th.getName()).append(' ').append(th.getState());
                for (StackTraceElement e : st) {
                    b.append("\n    at ").append(e);
                }
                System.err.println(b);
            });
        }
        assertThat(t).as("a transition within 20 s (probes seen: %s)", probes).isNotNull();
        return t;
    }

    ProbeResult lastProbe() {
        assertThat(probes).isNotEmpty();
        return probes.getLast();
    }
}
