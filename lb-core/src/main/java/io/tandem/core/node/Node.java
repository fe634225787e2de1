package io.tandem.core.node;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.ConfigResult;
import io.tandem.config.TandemConfig;
import io.tandem.core.admin.AdminServer;
import io.tandem.core.control.ControlLoop;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.logging.LogOutput;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.transport.Transport;
import io.tandem.ha.HaNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Tandem node: the transport and event loops, the control loop, the admin API and
 * the reload triggers (config file change, SIGHUP). {@link #start} either returns a node that is
 * serving every configured VIP, or throws with every reason it could not.
 *
 * <p>Shutdown is graceful ({@link #shutdown}): stop accepting, let connections finish until
 * the drain deadline, close what is left, stop. A SIGKILL loses only what was in flight.
 */
public final class Node implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Node.class);

    private final TandemConfig initial;
    private final Transport transport;
    private final EventLoopGroup workers;
    private final Metrics metrics;
    private final ControlLoop control;
    /** The control loop with a record of its reloads: what the admin API, SIGHUP and the watcher use. */
    private final ReloadHistory reloads;
    private final AdminServer admin;
    private final ConfigWatcher watcher;
    private final HaNode ha;
    /** BIRD and the anycast addresses with {@code ha.announce: {mode: bgp}}; null otherwise. */
    private volatile io.tandem.ha.announce.Announcer announcer;
    private final DiscoveryWiring discovery;
    private final AtomicBoolean stopped = new AtomicBoolean();

    private Node(TandemConfig initial, Transport transport, EventLoopGroup workers, Metrics metrics,
                 ControlLoop control, ReloadHistory reloads, AdminServer admin, ConfigWatcher watcher, HaNode ha,
                 DiscoveryWiring discovery) {
        this.initial = initial;
        this.transport = transport;
        this.workers = workers;
        this.metrics = metrics;
        this.control = control;
        this.reloads = reloads;
        this.admin = admin;
        this.watcher = watcher;
        this.ha = ha;
        this.discovery = discovery;
    }

    /** How to start a node. */
    public record Options(String name, TandemConfig config, Supplier<ConfigResult> source, String sourceName,
                          Optional<Path> watchFile) {
        public Options {
            requireNonNull(name, "name");
            requireNonNull(config, "config");
            requireNonNull(source, "source");
            requireNonNull(sourceName, "sourceName");
            requireNonNull(watchFile, "watchFile");
        }

        /** A node whose config never changes (quick mode, tests). */
        public static Options fixed(String name, TandemConfig config) {
            return new Options(name, config, () -> new ConfigResult.Valid(config), "command line", Optional.empty());
        }

        /** A node reading (and re-reading on reload) {@code file}, of at most the default size cap. */
        public static Options file(String name, TandemConfig config, Path file, boolean watch) {
            return file(name, config, file, watch, io.tandem.config.ConfigLoader.DEFAULT_MAX_BYTES);
        }

        /** Like {@link #file(String, TandemConfig, Path, boolean)}; every reload reads at most {@code maxBytes}. */
        public static Options file(String name, TandemConfig config, Path file, boolean watch, long maxBytes) {
            return new Options(name, config, () -> io.tandem.config.ConfigLoader.load(file, maxBytes), file.toString(),
                    watch ? Optional.of(file) : Optional.empty());
        }
    }

    /** Thrown by {@link #start} with every reason the node could not start. */
    public static final class StartException extends Exception {
        private static final long serialVersionUID = 1L;

        StartException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public static Node start(Options options) throws StartException {
        TandemConfig cfg = options.config();
        Transport transport;
        try {
            transport = Transport.select(cfg.runtime().transport());
        } catch (IllegalStateException e) {
            throw new StartException(e.getMessage(), e);
        }
        EventLoopGroup workers = transport.newGroup(cfg.runtime().eventLoops(), "tandem-io");
        Metrics metrics = new Metrics();
        ControlLoop control = new ControlLoop(options.name(), transport, workers, metrics, options.source(),
                options.sourceName(), Clock.systemUTC());
        ReloadHistory reloads = new ReloadHistory(control, metrics, Clock.systemUTC());
        AdminServer admin = null;
        DiscoveryWiring discovery = null;
        try {
            // The log format is the config's from here on, and follows it on every reload.
            LogOutput.apply(cfg.runtime().logging().format());
            control.addApplyListener(c -> LogOutput.apply(c.runtime().logging().format()));
            cfg.ha().ifPresent(Node::sweepLeftoverAddresses);
            ReloadOutcome outcome = control.start(cfg).join();
            if (!outcome.applied()) {
                throw new StartException("cannot start: " + String.join("; ", outcome.errors()), null);
            }
            reloads.started(outcome);
            if (cfg.admin().enabled()) {
                try {
                    admin = AdminServer.start(cfg.admin(), workers, transport, reloads, metrics.registry()).join();
                    // A reload rotates the token (and the allowed host names) at once; the listener itself
                    // stays until a restart, which the reload's answer says (needsRestart).
                    AdminServer running = admin;
                    control.addApplyListener(c -> running.update(c.admin()));
                } catch (CompletionException e) {
                    throw new StartException("admin.listen: " + cfg.admin().listen()
                            + " (expected a bindable address: " + e.getCause().getMessage() + ")", e.getCause());
                }
            }
            discovery = DiscoveryWiring.start(cfg, control, workers, transport, metrics.registry());
        } catch (StartException | RuntimeException e) {
            if (admin != null) {
                admin.close();
            }
            control.close();
            metrics.close();
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            throw e instanceof StartException se ? se : new StartException(e.toString(), e);
        }
        HaNode ha = null;
        io.tandem.ha.announce.Announcer announcer = null;
        if (cfg.ha().isPresent()) {
            try {
                HaWiring.Started started = HaWiring.startAnnouncing(cfg.ha().get(), control, metrics);
                ha = started.node();
                announcer = started.announcer();
            } catch (IOException | IllegalArgumentException e) {
                discovery.close();
                if (admin != null) {
                    admin.close();
                }
                control.close();
                metrics.close();
                workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
                throw new StartException("ha: " + e.getMessage(), e);
            }
        }
        ConfigWatcher watcher = options.watchFile()
                .map(f -> ConfigWatcher.start(f, () -> reloads.reload("file"), ConfigWatcher.SETTLE, ConfigWatcher.POLL))
                .orElse(null);
        Node node = new Node(cfg, transport, workers, metrics, control, reloads, admin, watcher, ha, discovery);
        node.announcer = announcer;
        for (String w : io.tandem.config.ConfigSummary.warnings(cfg)) {
            log.warn("config warning node={} warning=\"{}\"", options.name(), w);
        }
        log.info("node started node={} transport={} event_loops={} vips={} admin={}", options.name(),
                transport.name(), workers.iterator().hasNext() ? countLoops(workers) : 0, cfg.vips().size(),
                admin == null ? "off" : admin.localAddress());
        return node;
    }

    /**
     * Removes the HA addresses a previous process left on the interface (SIGKILL leaves them)
     * before any VIP listener is bound. The listeners bind with IP_FREEBIND, so on a leftover
     * address this node's kernel would complete handshakes for a VIP the peer owns now, until
     * the HA layer's own sweep at its start, seconds later on a loaded host (the partition
     * nemesis measured 1.6-1.9 s of two accepting owners). HaNode sweeps again: harmless.
     * Skipped when the peer-link port is taken: another instance of this node is running (a
     * second {@code tandem run} by mistake), and its addresses are not leftovers.
     */
    private static void sweepLeftoverAddresses(io.tandem.config.HaConfig ha) {
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.bind(new InetSocketAddress(ha.listen().host(), ha.listen().port()));
        } catch (IOException | RuntimeException e) {
            log.warn("leftover address sweep before binding skipped listen={}:{} error=\"{}\" (another instance"
                    + " running?)", ha.listen().host(), ha.listen().port(), e.toString());
            return;
        }
        io.tandem.ha.IpAddressManager addresses = new io.tandem.ha.IpAddressManager(ha.interfaceName());
        for (io.tandem.config.HaConfig.Address a : ha.addresses()) {
            try {
                addresses.remove(a.address());
            } catch (IOException | RuntimeException e) {
                log.warn("leftover address sweep before binding failed address={} error=\"{}\"", a.address(),
                        e.toString());
            }
        }
    }

    private static int countLoops(EventLoopGroup group) {
        int n = 0;
        for (var ignored : group) {
            n++;
        }
        return n;
    }

    public ControlLoop control() {
        return control;
    }

    public Transport transport() {
        return transport;
    }

    public Metrics metrics() {
        return metrics;
    }

    /** The admin API's bound address, when enabled. */
    public Optional<InetSocketAddress> adminAddress() {
        return Optional.ofNullable(admin).map(AdminServer::localAddress);
    }

    /** The named-VIP DNS responder's address (UDP and TCP, one port), when {@code discovery.dns} is set. */
    public Optional<InetSocketAddress> namedVipDnsAddress() {
        return discovery.dnsAddress();
    }

    /** The bound address of a VIP's listener. */
    public Optional<InetSocketAddress> listenAddress(String vip) {
        return control.listenAddress(vip);
    }

    /**
     * Reload on SIGHUP (POSIX only; silently unavailable elsewhere). Nobody waits for the answer
     * here: the reload logs its own outcome — applied, rejected with the errors, or failed with the
     * reason, whatever the source threw ({@link ControlLoop#reload}).
     */
    public void reloadOnSighup() {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> {
                log.info("reload requested by=SIGHUP");
                reloads.reload("sighup").exceptionally(e -> {
                    log.warn("reload not run by=SIGHUP reason=\"{}\"", e.getMessage());
                    return null;
                });
            });
        } catch (IllegalArgumentException e) {
            log.debug("SIGHUP unavailable error=\"{}\"", e.toString());
        }
    }

    /**
     * Graceful shutdown: stop accepting, wait until connections finish or {@code drain} passes,
     * close the rest, stop everything. Idempotent.
     */
    public void shutdown(Duration drain) {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        log.info("shutdown started drain_timeout={}", io.tandem.config.Durations.format(drain));
        if (watcher != null) {
            watcher.close();
        }
        if (ha != null) {
            // Give the VIP addresses up first so a peer takes new clients over at once.
            ha.close();
        }
        if (announcer != null) {
            announcer.close(); // after the HA node: its addresses are withdrawn by now; then BIRD stops
        }
        control.stopAccepting().join();
        long deadline = start + drain.toNanos();
        int active;
        while ((active = control.activeConnections()) > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50); // polling a counter on the shutdown thread, not waiting for a test condition
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int closed = active > 0 ? control.closeAllConnections().join() : 0;
        discovery.close();
        if (admin != null) {
            admin.close();
        }
        control.close();
        metrics.close();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("shutdown complete after_ms={} closed_at_deadline={}",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), closed);
    }

    /** Shuts down with the drain timeout of the config in force (a reload may have changed it). */
    @Override
    public void close() {
        TandemConfig current = control.config();
        shutdown((current == null ? initial : current).runtime().drainTimeout());
    }
}
