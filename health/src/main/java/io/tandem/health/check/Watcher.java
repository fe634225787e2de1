package io.tandem.health.check;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One {@link HealthChecker#watch} registration: a listener on a shared check. */
final class Watcher implements CheckHandle {

    private static final Logger log = LoggerFactory.getLogger(Watcher.class);

    private final SharedCheck check;
    private final CheckListener listener;
    private final boolean trusted;
    private final boolean wantsProbes;
    private final BiConsumer<SharedCheck, Watcher> onClose;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** The verdict last delivered to (or assumed by) this watcher. Confined to the check's loop. */
    CheckState delivered;

    Watcher(SharedCheck check, CheckListener listener, InitialState initial,
            BiConsumer<SharedCheck, Watcher> onClose) {
        this.check = check;
        this.listener = listener;
        this.trusted = initial == InitialState.TRUSTED;
        this.wantsProbes = overridesOnProbe(listener);
        this.onClose = onClose;
        this.delivered = trusted ? CheckState.UP : CheckState.PENDING;
    }

    boolean trusted() {
        return trusted;
    }

    /**
     * Whether the listener does anything with single probe results. A listener that only hears
     * transitions (the control loop's) is not handed every result: that was a wake-up of the
     * callback thread per probe, for nothing, and most of a probe's cost beside the connect itself.
     */
    boolean wantsProbes() {
        return wantsProbes;
    }

    private static boolean overridesOnProbe(CheckListener listener) {
        try {
            return listener.getClass().getMethod("onProbe", ProbeResult.class).getDeclaringClass() != CheckListener.class;
        } catch (NoSuchMethodException | SecurityException e) {
            return true; // cannot tell: deliver everything, as before
        }
    }

    boolean closed() {
        return closed.get();
    }

    /** Runs on the callback executor. */
    void deliver(HealthTransition transition, ProbeResult result) {
        if (closed.get()) {
            return;
        }
        try {
            if (result != null) {
                listener.onProbe(result);
            }
            if (transition != null) {
                listener.onTransition(transition);
            }
        } catch (RuntimeException e) {
            log.warn("health listener threw check={}", check, e);
        }
    }

    @Override
    public CheckState state() {
        return check.state();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            onClose.accept(check, this);
        }
    }

    @Override
    public String toString() {
        return "CheckHandle[" + check + "]";
    }
}
