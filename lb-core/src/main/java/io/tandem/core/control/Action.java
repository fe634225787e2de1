package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.DiscoverySettings;
import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HostPort;
import io.tandem.config.TandemConfig;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.Vip;
import io.tandem.health.check.InitialState;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.slf4j.event.Level;

/**
 * What the {@link Reconciler} asks the control loop to do. The reconciler only decides; the loop
 * ({@link ControlLoop}, through {@link Effects}) executes, in list order, and posts what comes
 * back (a bind's result, a check's verdict, a timer, a DNS answer) as the next input. Order
 * matters where it says so: a {@link CloseConnections} sweep follows the {@link Publish} that
 * took the backend out, never precedes it.
 */
sealed interface Action {

    // ---------------------------------------------------------------- listeners

    /** Bind {@code config}'s listen address for {@code vip}; answer {@link Reconciler#bound} or {@link Reconciler#bindFailed}. */
    record Bind(long transaction, VipConfig config, Vip vip) implements Action {
    }

    /** Stop accepting on {@code listener} (in the background, bounded); answer {@link Reconciler#listenerClosed}. */
    record CloseListener(String vip, BoundListener listener) implements Action {
    }

    // ---------------------------------------------------------------- the data path

    /** Make {@code pool} the snapshot new connections of {@code vip} read. */
    record Publish(Vip vip, BackendPool pool) implements Action {
    }

    /** Reset every connection of {@code vip} to {@code backend}, and say how many went and {@code why}. */
    record CloseConnections(Vip vip, Backend backend, Cut why, Duration drainTimeout) implements Action {
    }

    /** Why connections are cut: the backend went down ({@code close_on_backend_down}), or an operator drain ran out. */
    enum Cut { BACKEND_DOWN, DRAIN_DEADLINE }

    // ---------------------------------------------------------------- health

    /** Watch {@code target} with {@code spec}; its verdicts come back as {@link Reconciler#verdict} with {@code id}. */
    record StartCheck(long id, InetSocketAddress target, HealthCheckSpec spec, InitialState initial)
            implements Action {
    }

    record StopCheck(long id) implements Action {
    }

    /** Ask {@code target}'s agent ({@code spec}); its states come back as {@link Reconciler#agent} with {@code id}. */
    record StartAgent(long id, InetSocketAddress target, io.tandem.config.AgentCheck spec) implements Action {
    }

    record StopAgent(long id) implements Action {
    }

    /** Update the agent meters of {@code backend} of {@code vip} (registered on first use, removed with the backend). */
    record AgentMeters(String vip, String backend, io.tandem.health.check.AgentState state) implements Action {
    }

    /** Probe now, out of schedule (a passive failure or a peer's ejection wants an active verdict soon). */
    record ProbeNow(InetSocketAddress target, HealthCheckSpec spec) implements Action {
    }

    /** Tell the HA peers this node ejected {@code backend} of {@code vip} passively. */
    record ShareEjection(String vip, HostPort backend, String reason) implements Action {
    }

    // ---------------------------------------------------------------- time and names

    /** Post {@link Reconciler#timer} with {@code timer} after {@code delay}, replacing one already set. */
    record Schedule(Timer timer, Duration delay) implements Action {
    }

    record Cancel(Timer timer) implements Action {
    }

    /** The reconciler's timers; a VIP's carry its incarnation, so a replaced VIP's timer finds nothing. */
    sealed interface Timer {
        /** The next slow-start step of a VIP's pool. */
        record Ramp(String vip, long incarnation) implements Timer {
        }

        /** The earliest passive ejection of a VIP runs out. */
        record EjectionExpiry(String vip, long incarnation) implements Timer {
        }

        /** An operator drain's deadline: what still runs to the backend is cut. */
        record DrainDeadline(String vip, long incarnation, HostPort backend) implements Timer {
        }

        /** A VIP's latency window is over: judge its backends' latencies (outlier_detection.latency). */
        record LatencyReview(String vip, long incarnation) implements Timer {
        }

        /** A backend host name's TTL ran out: look it up again. */
        record NameRefresh(String name) implements Timer {
        }
    }

    /** Look {@code name} up (off the loop); answer {@link Reconciler#nameAnswer} with {@code epoch}. */
    record Lookup(String name, long epoch) implements Action {
    }

    // ---------------------------------------------------------------- metrics and logs

    /** Increment the counter {@code name} with {@code tags} (key, value, ...). */
    record Count(String name, List<String> tags) implements Action {
        public Count {
            requireNonNull(name, "name");
            tags = List.copyOf(tags);
        }
    }

    /** {@link Count}, named so the meter's name reads as one (MetricsDocumentedTest finds it). */
    static Count counter(String name, String... tags) {
        return new Count(name, List.of(tags));
    }

    /** Record a detection latency: first failing signal to the backend out of rotation. */
    record Detected(String vip, String cause, Duration latency) implements Action {
    }

    /** Register a VIP's meters (and its UDP listener's, if it has one). */
    record BindVip(Vip vip, BoundListener listener) implements Action {
    }

    record UnbindVip(String vip) implements Action {
    }

    /** Register a backend's meters; {@code eligible} is read at scrape time. */
    record BindBackend(Vip vip, Backend backend, BooleanSupplier eligible) implements Action {
    }

    /** A backend left its VIP: remove its meters and log it with the connections it still has. */
    record BackendRemoved(Vip vip, Backend backend, String origin) implements Action {
    }

    /** One log line, already in key=value form. */
    record Log(Level level, String line) implements Action {
        static Log info(String line) {
            return new Log(Level.INFO, line);
        }

        static Log warn(String line) {
            return new Log(Level.WARN, line);
        }

        static Log debug(String line) {
            return new Log(Level.DEBUG, line);
        }
    }

    // ---------------------------------------------------------------- config

    /** Run the discovery sources {@code settings} describe (restarting only on a change). */
    record ConfigureDiscovery(DiscoverySettings settings) implements Action {
    }

    /**
     * {@code config} is now in force as {@code generation}: publish it to other threads, adopt the
     * DNS client request {@code request} prepared, call the apply listeners.
     */
    record Applied(long request, TandemConfig config, long generation) implements Action {
    }

    /** Answer request {@code request} (a reload, the start) with {@code outcome}. */
    record Reply(long request, ReloadOutcome outcome) implements Action {
    }
}
