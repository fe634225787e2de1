package io.tandem.health.check;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import io.tandem.config.AgentCheck;
import io.tandem.config.CheckPayloads;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent check schedule for one (agent address, spec), shared by every watcher of it: two VIPs
 * with a backend on the same host and the same agent settings ask the agent once per interval.
 * Probes, the folded {@link AgentState} and the watcher list are confined to {@link #loop}; only
 * {@link #state} is published for racy reads.
 */
final class SharedAgent {

    private static final Logger log = LoggerFactory.getLogger(SharedAgent.class);

    /** What makes two agent watches the same agent check. */
    record Key(InetSocketAddress agent, AgentCheck spec) {
    }

    final Key key;
    final EventLoop loop;
    private final Bootstrap bootstrap;
    private final byte[] send;
    private final Executor callbacks;
    private final String name;

    /** Guarded by the checker's registry lock. */
    int refs;

    // Loop-confined.
    private final List<AgentWatcher> watchers = new CopyOnWriteArrayList<>();
    private ScheduledFuture<?> timer;
    private AgentProbe inFlight;
    private boolean stopped;
    /** Some exchange has ended (answered or not): a new watcher is told the state at once. */
    private boolean concluded;
    private volatile long exchanges;
    private volatile AgentState state = AgentState.INITIAL;

    SharedAgent(Key key, EventLoop loop, Class<? extends SocketChannel> socketChannel, Executor callbacks) {
        this.key = key;
        this.loop = loop;
        this.callbacks = callbacks;
        this.send = key.spec().send().map(CheckPayloads::bytes).orElse(null);
        int timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, key.spec().timeout().toMillis()));
        this.bootstrap = new Bootstrap().channel(socketChannel)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis)
                .option(ChannelOption.TCP_NODELAY, true)
                // As the health checks: close with a reset, no TIME_WAIT pile-up from frequent agent checks.
                .option(ChannelOption.SO_LINGER, 0);
        this.name = "agent://" + key.agent().getAddress().getHostAddress() + ":" + key.agent().getPort();
    }

    AgentState state() {
        return state;
    }

    /** Exchanges started so far (racy read, for tests). */
    long exchanges() {
        return exchanges;
    }

    void start() {
        run(this::probe); // the first exchange at once: an agent saying "drain" should not wait an interval
    }

    void addWatcher(AgentWatcher w) {
        run(() -> {
            if (stopped || w.closed()) {
                return;
            }
            watchers.add(w);
            if (concluded) {
                deliver(w, state); // a late watcher learns what the agent said so far, without waiting
            }
        });
    }

    void removeWatcher(AgentWatcher w) {
        run(() -> watchers.remove(w));
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
        LoopTasks.onLoop(loop, task, log, "agent check", name);
    }

    private void probe() {
        if (stopped || inFlight != null) {
            return;
        }
        exchanges++;
        AgentProbe p = new AgentProbe(bootstrap, loop, key.agent(), key.spec().timeout(), send, this::onOutcome);
        inFlight = p;
        p.start();
    }

    private void onOutcome(Probe.Outcome outcome) {
        inFlight = null;
        if (stopped) {
            return;
        }
        boolean first = !concluded;
        concluded = true;
        AgentState before = state;
        AgentState after = outcome.passed() ? before.answered(outcome.detail()) : before.failed(outcome.detail());
        state = after;
        if (!after.sameEffect(before)) {
            log.info("agent check change check={} {} was=\"{}\" answer={}", name, after.effect(), before.effect(),
                    after.lastAnswer().orElse("-"));
        } else if (after.reachable() != before.reachable() && (before.reachable() || first)) {
            // Said once per change, not per interval: an unreachable agent changes nothing (HAProxy).
            log.info("agent check {} check={} reason=\"{}\"", after.reachable() ? "reachable" : "unreachable", name,
                    after.problem().orElse(""));
        }
        if (after.problem().isPresent() && !after.problem().equals(before.problem()) && after.reachable()) {
            log.warn("agent check answer not fully understood check={} answer={} problem=\"{}\"", name,
                    after.lastAnswer().orElse("-"), after.problem().get());
        }
        if (!after.equals(before) || first) {
            for (AgentWatcher w : watchers) {
                deliver(w, after);
            }
        }
        timer = loop.schedule(this::probe, key.spec().interval().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void deliver(AgentWatcher w, AgentState s) {
        LoopTasks.toCallbacks(callbacks, () -> w.deliver(s), log, "agent", name);
    }

    @Override
    public String toString() {
        return name;
    }

    /** One {@link HealthChecker#watchAgent} registration. */
    static final class AgentWatcher implements AgentHandle {
        private final SharedAgent agent;
        private final AgentListener listener;
        private final BiConsumer<SharedAgent, AgentWatcher> onClose;
        private final AtomicBoolean closed = new AtomicBoolean();

        AgentWatcher(SharedAgent agent, AgentListener listener, BiConsumer<SharedAgent, AgentWatcher> onClose) {
            this.agent = agent;
            this.listener = listener;
            this.onClose = onClose;
        }

        boolean closed() {
            return closed.get();
        }

        void deliver(AgentState s) {
            if (closed.get()) {
                return;
            }
            try {
                listener.onAgent(s);
            } catch (RuntimeException e) {
                log.warn("agent listener threw check={}", agent, e);
            }
        }

        @Override
        public AgentState state() {
            return agent.state();
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                onClose.accept(agent, this);
            }
        }
    }
}
