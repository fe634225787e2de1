package io.tandem.discovery.marathon;

import io.tandem.config.CheckTiming;
import io.tandem.config.HealthCheckSpec;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Turns an app's Marathon {@code healthChecks} into the Tandem active check of one of its ports.
 * The mapping (docs/migrating-from-marathon-lb.md, "Health checks"):
 *
 * <ul>
 *   <li>{@code TCP}, {@code MESOS_TCP} → a TCP connect check; {@code HTTP}, {@code MESOS_HTTP} →
 *       an HTTP {@code GET path} passing on 200..399 (Marathon's own rule); {@code HTTPS},
 *       {@code MESOS_HTTPS} → the same over TLS without certificate verification (Marathon does not
 *       verify either). {@code COMMAND} runs inside the task: no L4 equivalent, Marathon's verdict
 *       ({@code healthCheckResults}) still marks the task unhealthy.</li>
 *   <li>Which port: the check whose {@code portIndex} is the port's index, or one with a fixed
 *       {@code port} (probed on that port of every task, as Marathon and Marathon-LB do). The
 *       first such check wins.</li>
 *   <li>Timing: {@code interval = intervalSeconds}, {@code timeout = timeoutSeconds} (at most 60 s),
 *       {@code fall = maxConsecutiveFailures} (at least 1: the failures after which Marathon would
 *       kill the task), {@code rise = 1} (Marathon calls a task healthy after one success),
 *       {@code fast_interval = min(interval, 1 s)} while a backend is changing state,
 *       {@code down_interval = interval}.</li>
 *   <li>{@code gracePeriodSeconds} needs no counterpart: a new task takes no traffic until its
 *       first check passes (PENDING_FIRST_CHECK), which is what the grace period protects.</li>
 * </ul>
 */
final class MarathonChecks {

    private static final Duration MAX_TIMEOUT = Duration.ofMinutes(1);
    private static final Duration MIN = Duration.ofSeconds(1);

    private MarathonChecks() {
    }

    /** The check of app port {@code index}, or why there is none (empty note when the app has no check there). */
    record ForPort(Optional<HealthCheckSpec> spec, Optional<String> note) {
        static final ForPort NONE = new ForPort(Optional.empty(), Optional.empty());
    }

    static ForPort forPort(MarathonApp app, int index) {
        for (MarathonHealthCheck hc : app.healthChecks()) {
            if (!hc.probes(index)) {
                continue;
            }
            if (hc.protocol().equals("COMMAND")) {
                return new ForPort(Optional.empty(), Optional.of("healthChecks: COMMAND runs inside the task, no L4 "
                        + "equivalent: no active check, Marathon's own verdict (healthCheckResults) still counts"));
            }
            return new ForPort(Optional.of(toSpec(hc)), Optional.empty());
        }
        return ForPort.NONE;
    }

    static HealthCheckSpec toSpec(MarathonHealthCheck hc) {
        Duration interval = max(hc.interval(), MIN);
        Duration timeout = min(max(hc.timeout(), MIN), MAX_TIMEOUT);
        CheckTiming d = CheckTiming.DEFAULTS;
        CheckTiming timing = new CheckTiming(interval, timeout, 1, Math.max(1, hc.maxConsecutiveFailures()),
                d.jitter(), min(interval, Duration.ofSeconds(1)), interval);
        OptionalInt port = hc.port();
        if (hc.http()) {
            return new HealthCheckSpec.Http(timing, port, hc.tls(), "GET", hc.path(), Optional.empty(), 200, 399,
                    Optional.empty());
        }
        return new HealthCheckSpec.Tcp(timing, port);
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
