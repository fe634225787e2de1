package io.tandem.health.check;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.tandem.config.HealthCheckSpec;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import javax.net.ssl.SSLException;

/**
 * Runs active health checks on Netty event loops, with timers instead of threads, and never
 * blocks. Each (address, spec) pair is probed by <em>one</em> schedule however many VIPs watch
 * it; every watcher gets the verdict changes ({@link CheckListener}) on the callback executor,
 * and a watcher that joins a running check learns its current verdict at once.
 *
 * <p>The caller owns the event loop group and picks the transport (epoll or NIO channel
 * classes); closing the checker stops every check but leaves the group running.
 *
 * <p>Thread-safe: {@link #watch}, {@link #probeNow} and handle closes may come from any thread.
 */
public final class HealthChecker implements AutoCloseable {

    private final EventLoopGroup group;
    private final Class<? extends SocketChannel> socketChannel;
    private final Class<? extends DatagramChannel> datagramChannel;
    private final Executor callbacks;
    private final InstantSource clock;
    private final RandomGenerator random;

    private final Object lock = new Object();
    private final Map<CheckKey, SharedCheck> checks = new HashMap<>();  // guarded by lock
    private final Map<SharedAgent.Key, SharedAgent> agents = new HashMap<>(); // guarded by lock
    private SslContext insecureTls;                                     // guarded by lock, lazy
    private boolean closed;                                             // guarded by lock

    /**
     * @param group            event loops the probes run on (each check is pinned to one loop)
     * @param socketChannel    TCP channel class matching the group ({@code EpollSocketChannel} or
     *                         {@code NioSocketChannel})
     * @param datagramChannel  UDP channel class matching the group
     * @param callbackExecutor where listeners are called; give it a serial executor (the control
     *                         loop) so each watcher sees its transitions in order
     * @param clock            timestamps of results and transitions
     */
    public HealthChecker(EventLoopGroup group, Class<? extends SocketChannel> socketChannel,
                         Class<? extends DatagramChannel> datagramChannel, Executor callbackExecutor,
                         InstantSource clock) {
        this(group, socketChannel, datagramChannel, callbackExecutor, clock, ThreadLocalRandom.current());
    }

    HealthChecker(EventLoopGroup group, Class<? extends SocketChannel> socketChannel,
                  Class<? extends DatagramChannel> datagramChannel, Executor callbackExecutor,
                  InstantSource clock, RandomGenerator random) {
        this.group = requireNonNull(group, "group");
        this.socketChannel = requireNonNull(socketChannel, "socketChannel");
        this.datagramChannel = requireNonNull(datagramChannel, "datagramChannel");
        this.callbacks = requireNonNull(callbackExecutor, "callbackExecutor");
        this.clock = requireNonNull(clock, "clock");
        this.random = requireNonNull(random, "random");
    }

    /**
     * Starts watching {@code target} with {@code spec}, or joins the existing check of the same
     * (target, spec). The probe goes to {@code spec.port()} when set, else to the target's port.
     *
     * @param target   a resolved address (resolution is the caller's job: it may block)
     * @param initial  how this watcher starts: {@link InitialState#PENDING} learns the verdict
     *                 from the first result(s); {@link InitialState#TRUSTED} assumes up and hears
     *                 only of a change. The first watcher's choice also sets how the shared check
     *                 starts.
     * @throws IllegalArgumentException if the spec cannot run (e.g. bad regex, rise 0), with the
     *                                  field, the value and what was expected
     * @throws IllegalStateException    after {@link #close()}
     */
    public CheckHandle watch(InetSocketAddress target, HealthCheckSpec spec, InitialState initial,
                             CheckListener listener) {
        requireNonNull(target, "target");
        requireNonNull(spec, "spec");
        requireNonNull(initial, "initial");
        requireNonNull(listener, "listener");
        if (target.isUnresolved()) {
            throw new IllegalArgumentException("target: " + target + " (expected a resolved address)");
        }
        CheckKey key = new CheckKey(target, spec);
        Watcher watcher;
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("health checker is closed");
            }
            SharedCheck check = checks.get(key);
            boolean created = false;
            if (check == null) {
                ProbeTemplate template = new ProbeTemplate(target, spec, socketChannel, datagramChannel, this::tls);
                CheckStateMachine machine = new CheckStateMachine(spec.timing(), initial, clock, random);
                check = new SharedCheck(key, group.next(), template, machine, clock, callbacks);
                checks.put(key, check);
                created = true;
            }
            check.refs++;
            SharedCheck c = check;
            watcher = new Watcher(c, listener, initial, this::release);
            // Add before start: both run in order on the check's loop, so the first result
            // always finds its first watcher.
            c.addWatcher(watcher);
            if (created) {
                c.start();
            }
        }
        return watcher;
    }

    /**
     * Starts an agent check (HAProxy {@code agent-check}) for the backend at {@code target}, or joins
     * the one already asking the same agent ({@code spec.address()}, else the target's address, on
     * {@code spec.port()}) with the same settings. The listener hears the agent's folded state
     * ({@link AgentState}) whenever it changes, and at once when joining a check that has already
     * had an exchange. It runs beside any health check of the same backend, never instead of it.
     *
     * @throws IllegalArgumentException if {@code spec.address()} is not an IP literal
     * @throws IllegalStateException    after {@link #close()}
     */
    public AgentHandle watchAgent(InetSocketAddress target, io.tandem.config.AgentCheck spec, AgentListener listener) {
        requireNonNull(target, "target");
        requireNonNull(spec, "spec");
        requireNonNull(listener, "listener");
        if (target.isUnresolved() && spec.address().isEmpty()) {
            throw new IllegalArgumentException("target: " + target + " (expected a resolved address)");
        }
        java.net.InetAddress host = spec.address().map(java.net.InetAddress::ofLiteral).orElse(target.getAddress());
        SharedAgent.Key key = new SharedAgent.Key(new InetSocketAddress(host, spec.port()), spec);
        SharedAgent.AgentWatcher watcher;
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("health checker is closed");
            }
            SharedAgent agent = agents.get(key);
            boolean created = agent == null;
            if (created) {
                agent = new SharedAgent(key, group.next(), socketChannel, callbacks);
                agents.put(key, agent);
            }
            agent.refs++;
            watcher = new SharedAgent.AgentWatcher(agent, listener, this::releaseAgent);
            agent.addWatcher(watcher); // before start: both run in order on the agent's loop
            if (created) {
                agent.start();
            }
        }
        return watcher;
    }

    /** Number of distinct agent checks running (shared ones count once). */
    public int activeAgentChecks() {
        synchronized (lock) {
            return agents.size();
        }
    }

    /** Exchanges started by the agent check of (agent address, spec), or -1 if none. For tests. */
    long agentExchanges(InetSocketAddress agent, io.tandem.config.AgentCheck spec) {
        synchronized (lock) {
            SharedAgent a = agents.get(new SharedAgent.Key(agent, spec));
            return a == null ? -1 : a.exchanges();
        }
    }

    private void releaseAgent(SharedAgent agent, SharedAgent.AgentWatcher watcher) {
        agent.removeWatcher(watcher);
        boolean last;
        synchronized (lock) {
            last = --agent.refs == 0;
            if (last) {
                agents.remove(agent.key, agent);
            }
        }
        if (last) {
            agent.stop();
        }
    }

    /**
     * Probes {@code (target, spec)} now, out of schedule — after a passive failure signal, so an
     * active verdict follows within one probe timeout. Does nothing if a probe is already in
     * flight (it answers the same question).
     *
     * @return false if nobody watches that (target, spec)
     */
    public boolean probeNow(InetSocketAddress target, HealthCheckSpec spec) {
        SharedCheck check;
        synchronized (lock) {
            check = checks.get(new CheckKey(requireNonNull(target, "target"), requireNonNull(spec, "spec")));
        }
        if (check == null) {
            return false;
        }
        check.probeNow();
        return true;
    }

    /** Probes now every check of {@code target} (any spec): the passive path knows only the address. */
    public int probeNow(InetSocketAddress target) {
        requireNonNull(target, "target");
        List<SharedCheck> matching;
        synchronized (lock) {
            matching = checks.values().stream().filter(c -> c.key.target().equals(target)).toList();
        }
        matching.forEach(SharedCheck::probeNow);
        return matching.size();
    }

    /** The shared check of {@code (target, spec)}, for tests in this package. */
    java.util.Optional<SharedCheck> sharedCheck(InetSocketAddress target, HealthCheckSpec spec) {
        synchronized (lock) {
            return java.util.Optional.ofNullable(checks.get(new CheckKey(target, spec)));
        }
    }

    /** Number of distinct probe schedules running (shared checks count once). */
    public int activeChecks() {
        synchronized (lock) {
            return checks.size();
        }
    }

    /** Stops every check; handles become inert. Idempotent; does not shut down the event loop group. */
    @Override
    public void close() {
        List<SharedCheck> all;
        List<SharedAgent> agentList;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            all = List.copyOf(checks.values());
            checks.clear();
            agentList = List.copyOf(agents.values());
            agents.clear();
        }
        all.forEach(SharedCheck::stop);
        agentList.forEach(SharedAgent::stop);
    }

    /** Number of probes started by the check of (target, spec), or -1 if none. For tests. */
    long probesStarted(InetSocketAddress target, HealthCheckSpec spec) {
        synchronized (lock) {
            SharedCheck c = checks.get(new CheckKey(target, spec));
            return c == null ? -1 : c.probes();
        }
    }

    private void release(SharedCheck check, Watcher watcher) {
        check.removeWatcher(watcher);
        boolean last;
        synchronized (lock) {
            last = --check.refs == 0;
            if (last) {
                checks.remove(check.key, check);
            }
        }
        if (last) {
            check.stop();
        }
    }

    private SslContext tls() {
        // Called under lock from watch().
        if (insecureTls == null) {
            try {
                insecureTls = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
            } catch (SSLException e) {
                throw new UncheckedIOException("cannot build the TLS client context for health checks", e);
            }
        }
        return insecureTls;
    }
}
