package io.tandem.discovery.zookeeper;

import static java.util.Objects.requireNonNull;

import io.tandem.discovery.DiscoverySource;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.SnapshotStore;
import io.tandem.discovery.SourceState;
import io.tandem.discovery.SourceStats;
import io.tandem.discovery.zookeeper.InstanceParser.Parsed;
import io.tandem.sys.RateLimitedLog;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.BoundedExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.common.ClientX509Util;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Discovers backends registered in ZooKeeper, either by Curator service discovery
 * ({@code basePath/service/instanceId} holding a JSON {@code ServiceInstance}) or as plain
 * {@code host:port} nodes, and pushes whole snapshots to a {@link DiscoverySource.Listener}.
 *
 * <p><b>How it reads.</b> One {@link CuratorCache} (a single persistent recursive watch, ZooKeeper
 * 3.6+) mirrors {@code basePath}. Its callbacks run on Curator's shared notification thread, so
 * they only record the time and post to this source's own single daemon thread, which parses,
 * debounces removals ({@link Membership}) and calls the listener. Nothing here blocks Curator.
 *
 * <p><b>Connection trouble never empties a pool.</b> On SUSPENDED or LOST the last membership is
 * re-sent with {@code stale=true} and {@link #state()} shows {@code staleSince}. On CONNECTED or
 * RECONNECTED the source builds a <em>fresh</em> cache and switches to it only when that cache has
 * finished its initial load, so the first non-stale snapshot after a partition is a full resync,
 * never a half-loaded tree. Instances that vanished during the partition are then removed after
 * the usual debounce.
 *
 * <p><b>What can be missed</b> (Curator's own caveat for its caches): ZooKeeper watches report
 * the latest state, not every change. An instance that came and went while we were partitioned,
 * or a data change immediately overwritten, is never seen. Membership is eventually right, not a
 * change log.
 *
 * <p>Lifecycle {@code LATENT -> STARTED -> CLOSED}: {@link #start} once, {@link #close} idempotent;
 * close shuts the cache, the {@link CuratorFramework} this source created and its thread.
 */
public final class ZooKeeperSource implements DiscoverySource {

    private static final Logger log = LoggerFactory.getLogger(ZooKeeperSource.class);
    private static final long INCOMPLETE_RESYNC_RETRY_MILLIS = 1000;

    private enum Lifecycle { LATENT, STARTED, CLOSED }

    private final ZooKeeperSettings settings;
    private final String namespacePrefix;
    private final String basePrefix;
    private final AtomicReference<Lifecycle> lifecycle = new AtomicReference<>(Lifecycle.LATENT);
    private final ScheduledThreadPoolExecutor executor;
    private final AtomicBoolean recomputeQueued = new AtomicBoolean();
    private final AtomicLong droppedEntries = new AtomicLong();
    private final SourceStats stats = new SourceStats();
    private final SnapshotStore store;
    /** When the first cache event not yet published arrived (0 = none): the start of a propagation sample. */
    private final AtomicLong pendingEventNanos = new AtomicLong();

    // Written on the source thread (or Curator's threads for lastEventAt/lastError), read anywhere.
    private volatile boolean connected;
    private volatile Instant staleSince;
    private volatile String lastError;
    private volatile Instant lastEventAt;
    private volatile Thread sourceThread;
    /** Serving the snapshot read from disk; cleared by the first complete load. */
    private volatile boolean restored;

    // Confined to the source thread after start().
    private CuratorFramework client;
    private Listener listener;
    private Generation current;
    private long generationSeq;
    private final Membership membership;
    private Map<String, Memo> parsedByPath = new HashMap<>();
    private boolean adopted;
    private Map<String, Set<Endpoint>> lastEmitted;
    private boolean lastEmittedStale;
    private ScheduledFuture<?> expiryTimer;
    private long expiryTimerDeadline;
    private final RateLimitedLog droppedWarn = RateLimitedLog.every(Duration.ofSeconds(10));
    private ScheduledFuture<?> saveTimer;

    /** One parse result, reused while the znode's data (mzxid) is unchanged. */
    private record Memo(long mzxid, Parsed parsed) {
    }

    /** One CuratorCache and what we know about its load. A new one is built on every (re)connect. */
    private final class Generation {
        final long id;
        final CuratorCache cache;
        volatile boolean initialized;
        volatile boolean connectionError;

        Generation(long id) {
            this.id = id;
            this.cache = CuratorCache.builder(client, settings.basePath())
                    .withExceptionHandler(this::onError)
                    .build();
            cache.listenable().addListener(new CuratorCacheListener() {
                @Override
                public void event(Type type, ChildData oldData, ChildData data) {
                    // Curator's shared thread: record and hand off, never compute here.
                    lastEventAt = Instant.now();
                    pendingEventNanos.compareAndSet(0, System.nanoTime());
                    if (initialized && recomputeQueued.compareAndSet(false, true)) {
                        post(ZooKeeperSource.this::recompute);
                    }
                }

                @Override
                public void initialized() {
                    post(() -> onInitialized(Generation.this));
                }
            });
        }

        private void onError(Exception e) {
            if (e instanceof KeeperException ke && isConnectionProblem(ke.code())) {
                connectionError = true;
                log.debug("zookeeper cache read interrupted source={} generation={} code={}", name(), id, ke.code());
            } else {
                log.warn("zookeeper cache error source={} generation={} error=\"{}\"", name(), id, e.toString());
            }
            lastError = "cache: " + e;
        }
    }

    /**
     * @throws IllegalArgumentException listing every problem {@link ZooKeeperSettings#validate()} found
     */
    public ZooKeeperSource(ZooKeeperSettings settings) {
        this.settings = requireNonNull(settings, "settings");
        var errors = settings.validate();
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid ZooKeeper settings: " + String.join("; ", errors));
        }
        this.namespacePrefix = settings.namespace().map(ns -> "/" + ns).orElse("");
        this.basePrefix = settings.basePath().equals("/") ? "/" : settings.basePath() + "/";
        this.membership = new Membership(settings.removalDebounce().toNanos(), settings.services());
        this.executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "tandem-zk-" + settings.sourceName());
            t.setDaemon(true);
            sourceThread = t;
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.store = settings.stateDir().map(d -> new SnapshotStore(d, settings.sourceName(), SNAPSHOT_KIND))
                .orElse(null);
    }

    /** The kind of the snapshot data on disk: a service map ({@link SnapshotStore#servicesJson}). */
    static final String SNAPSHOT_KIND = "services";

    @Override
    public String name() {
        return settings.sourceName();
    }

    /** The settings this source runs with. */
    public ZooKeeperSettings settings() {
        return settings;
    }

    /**
     * Connects in the background and returns at once; the first snapshot follows the first
     * complete load of {@code basePath}. Until ZooKeeper is reachable nothing is emitted.
     */
    @Override
    public void start(Listener listener) {
        requireNonNull(listener, "listener");
        if (!lifecycle.compareAndSet(Lifecycle.LATENT, Lifecycle.STARTED)) {
            throw new IllegalStateException("lifecycle: " + lifecycle.get() + " (expected LATENT)");
        }
        CuratorFramework c = buildClient(settings);
        // Publish fields to the source thread before any task can run there.
        Future<?> init = executor.submit(() -> {
            this.listener = listener;
            this.client = c;
        });
        await(init);
        // Not awaited: the listener may block (it resolves host names), and the caller may be the
        // node's control loop. It still runs before any connection event: one thread, in order.
        post(this::restore);
        c.getConnectionStateListenable().addListener((cf, newState) -> post(() -> onConnectionState(newState)));
        c.getUnhandledErrorListenable().addListener((message, e) -> lastError = message + ": " + e);
        c.start();
        if (lifecycle.get() == Lifecycle.CLOSED) {
            c.close(); // close() raced with start() and may have missed the client
            return;
        }
        log.info("zookeeper source started source={} connect={} base_path={} layout={} services={}",
                name(), settings.connectString(), namespacePrefix + settings.basePath(), settings.layout(),
                settings.services().isEmpty() ? "all" : settings.services());
    }

    @Override
    public SourceState state() {
        return new SourceState(connected, java.util.Optional.ofNullable(staleSince),
                java.util.Optional.ofNullable(lastError), java.util.Optional.ofNullable(lastEventAt),
                droppedEntries.get(), restored, Map.of());
    }

    @Override
    public SourceStats stats() {
        return stats;
    }

    /**
     * Source thread, before any connection event: the last good snapshot on disk, if any, is
     * published stale at once, so a node started while ZooKeeper is down serves the last known
     * backends; the first complete load replaces it.
     */
    private void restore() {
        if (store == null) {
            return;
        }
        var saved = store.load();
        if (saved.isEmpty()) {
            return;
        }
        Map<String, Set<Endpoint>> services;
        try {
            services = SnapshotStore.servicesFrom(saved.get().data(), stats);
        } catch (IllegalArgumentException e) {
            log.warn("discovery snapshot ignored source={} file={} reason=\"{}\"", name(), store.file(), e.getMessage());
            return;
        }
        restored = true;
        staleSince = Instant.now();
        stats.updated(saved.get().savedAt());
        lastEmitted = services;
        lastEmittedStale = true;
        stats.published(services, true, true);
        log.warn("zookeeper serving the last known membership from disk until ZooKeeper answers source={} saved_at={} "
                + "services={} endpoints={}", name(), saved.get().savedAt(), services.size(),
                services.values().stream().mapToInt(Set::size).sum());
        try {
            listener.onSnapshot(this, services, true);
        } catch (RuntimeException e) {
            log.warn("discovery listener failed source={} error=\"{}\"", name(), e.toString(), e);
        }
    }

    /** Saves the published membership now, or schedules it once the store's interval has passed. */
    private void persistSoon() {
        if (store == null || lifecycle.get() != Lifecycle.STARTED) {
            return;
        }
        if (store.due()) {
            store.save(SnapshotStore.servicesJson(lastEmitted), Instant.now());
            return;
        }
        long in = store.nanosUntilDue();
        if (in >= 0 && saveTimer == null) {
            saveTimer = executor.schedule(wrap(() -> {
                saveTimer = null;
                if (!lastEmittedStale && lastEmitted != null) {
                    persistSoon();
                }
            }), in, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void close() {
        Lifecycle previous = lifecycle.getAndSet(Lifecycle.CLOSED);
        if (previous == Lifecycle.CLOSED) {
            return;
        }
        if (previous == Lifecycle.STARTED) {
            Runnable teardown = () -> {
                if (expiryTimer != null) {
                    expiryTimer.cancel(false);
                }
                if (saveTimer != null) {
                    saveTimer.cancel(false);
                }
                if (current != null) {
                    current.cache.close();
                    current = null;
                }
            };
            if (Thread.currentThread() == sourceThread) {
                teardown.run();
            } else {
                try {
                    await(executor.submit(teardown));
                } catch (RejectedExecutionException | IllegalStateException e) {
                    log.debug("zookeeper source teardown skipped source={} error=\"{}\"", name(), e.toString());
                }
            }
            // The client was assigned on the source thread; the teardown task above (or being on
            // that thread) orders this read after it.
            CuratorFramework c = client;
            if (c != null) {
                c.close();
            }
        }
        executor.shutdownNow();
        if (store != null) {
            store.close();
        }
        connected = false;
        stats.connected(false);
        log.info("zookeeper source closed source={}", name());
    }

    // ---- source thread ------------------------------------------------------------------------

    private void onConnectionState(ConnectionState newState) {
        switch (newState) {
            case CONNECTED, RECONNECTED -> {
                if (newState == ConnectionState.RECONNECTED) {
                    stats.reconnected();
                }
                connected = true;
                stats.connected(true);
                log.info("zookeeper connected source={} state={} resync=full", name(), newState);
                startGeneration();
            }
            case SUSPENDED, LOST -> {
                connected = false;
                stats.connected(false);
                if (staleSince == null && adopted) {
                    staleSince = Instant.now(); // only once there is a membership to keep serving
                }
                lastError = "connection " + newState;
                log.warn("zookeeper connection {} source={} keeping_last_membership=true", newState, name());
                publish();
            }
            case READ_ONLY -> log.info("zookeeper read-only source={}", name());
        }
    }

    private void startGeneration() {
        if (current != null) {
            current.cache.close();
        }
        Generation g = new Generation(++generationSeq);
        current = g;
        g.cache.start();
    }

    private void onInitialized(Generation g) {
        if (g != current) {
            return;
        }
        if (g.connectionError) {
            // A read failed mid-load: this tree may be partial. A RECONNECTED normally follows
            // and brings a new generation; retry anyway in case the connection stayed up.
            log.info("zookeeper resync incomplete source={} generation={} retry_ms={}", name(), g.id,
                    INCOMPLETE_RESYNC_RETRY_MILLIS);
            executor.schedule(wrap(() -> {
                if (g == current && connected) {
                    startGeneration();
                }
            }), INCOMPLETE_RESYNC_RETRY_MILLIS, TimeUnit.MILLISECONDS);
            return;
        }
        if (!connected) {
            return; // the next (RE)CONNECTED starts a fresh generation
        }
        g.initialized = true;
        adopted = true;
        staleSince = null;
        restored = false;
        stats.resynced();
        recompute();
        log.info("zookeeper resync complete source={} generation={} services={} endpoints={} pending_removals={}",
                name(), g.id, lastEmitted == null ? 0 : lastEmitted.size(),
                lastEmitted == null ? 0 : lastEmitted.values().stream().mapToInt(Set::size).sum(),
                membership.pendingRemovals());
    }

    /** Rebuilds the live view from the cache's storage; parsing is memoised per znode version. */
    private void recompute() {
        recomputeQueued.set(false);
        Generation g = current;
        if (g == null || !g.initialized) {
            return;
        }
        Map<String, Membership.Entry> live = new HashMap<>();
        Map<String, Memo> nextParsed = new HashMap<>();
        g.cache.stream().forEach(node -> {
            String path = node.getPath();
            if (!path.startsWith(basePrefix)) {
                return;
            }
            String rel = path.substring(basePrefix.length());
            int slash = rel.indexOf('/');
            if (slash <= 0 || slash == rel.length() - 1 || rel.indexOf('/', slash + 1) >= 0) {
                return; // the base node, a service node, or something deeper: not an instance
            }
            String service = rel.substring(0, slash);
            if (!settings.services().isEmpty() && !settings.services().contains(service)) {
                return;
            }
            long mzxid = node.getStat() == null ? -1 : node.getStat().getMzxid();
            Memo memo = parsedByPath.get(path);
            if (memo == null || memo.mzxid() != mzxid || mzxid == -1) {
                String fullPath = namespacePrefix + path;
                memo = new Memo(mzxid, InstanceParser.parse(settings.layout(), settings.useSslPort(), fullPath,
                        rel.substring(slash + 1), node.getData()));
                if (memo.parsed() instanceof Parsed.Bad bad) {
                    droppedEntries.incrementAndGet();
                    stats.dropped("instance");
                    warnDropped(fullPath, bad.reason());
                }
            }
            nextParsed.put(path, memo);
            if (memo.parsed() instanceof Parsed.Ok ok) {
                live.put(path, new Membership.Entry(service, ok.endpoint()));
            }
        });
        parsedByPath = nextParsed;
        stats.updated(Instant.now());
        membership.update(live, System.nanoTime());
        publish();
        scheduleExpiry();
    }

    private void onExpiry() {
        expiryTimer = null;
        if (membership.expire(System.nanoTime())) {
            publish();
        }
        scheduleExpiry();
    }

    private void scheduleExpiry() {
        OptionalLong next = membership.nextDeadline();
        if (next.isEmpty()) {
            if (expiryTimer != null) {
                expiryTimer.cancel(false);
                expiryTimer = null;
            }
            return;
        }
        if (expiryTimer != null) {
            if (expiryTimerDeadline == next.getAsLong()) {
                return;
            }
            expiryTimer.cancel(false);
        }
        long delay = Math.max(0, next.getAsLong() - System.nanoTime());
        expiryTimerDeadline = next.getAsLong();
        expiryTimer = executor.schedule(wrap(this::onExpiry), delay, TimeUnit.NANOSECONDS);
    }

    /** Sends the current membership if it, or its staleness, differs from what was last sent. */
    private void publish() {
        if (!adopted || lifecycle.get() != Lifecycle.STARTED) {
            return; // nothing complete to say yet; an empty map would read as "all gone"
        }
        Map<String, Set<Endpoint>> snapshot = membership.published();
        boolean stale = staleSince != null;
        if (lastEmitted != null && stale == lastEmittedStale && snapshot.equals(lastEmitted)) {
            pendingEventNanos.set(0); // nothing reached the node: no propagation to measure
            return;
        }
        lastEmitted = snapshot;
        lastEmittedStale = stale;
        stats.published(snapshot, stale, restored);
        try {
            listener.onSnapshot(this, snapshot, stale);
        } catch (RuntimeException e) {
            log.warn("discovery listener failed source={} error=\"{}\"", name(), e.toString(), e);
        }
        long since = pendingEventNanos.getAndSet(0);
        if (since != 0) {
            stats.propagated(System.nanoTime() - since);
        }
        if (!stale && store != null) {
            store.changed();
            persistSoon();
        }
    }

    private void warnDropped(String path, String reason) {
        lastError = "dropped " + path + ": " + reason;
        long held = droppedWarn.admit();
        if (held >= 0) {
            log.warn("zookeeper entry dropped source={} path={} reason=\"{}\" suppressed_since_last={}",
                    name(), path, reason, held);
        } else {
            log.debug("zookeeper entry dropped source={} path={} reason=\"{}\"", name(), path, reason);
        }
    }

    // ---- plumbing -----------------------------------------------------------------------------

    private void post(Runnable task) {
        try {
            executor.execute(wrap(task));
        } catch (RejectedExecutionException e) {
            log.debug("zookeeper event after close ignored source={}", name());
        }
    }

    private Runnable wrap(Runnable task) {
        return () -> {
            if (lifecycle.get() != Lifecycle.STARTED) {
                return;
            }
            try {
                task.run();
            } catch (RuntimeException e) {
                lastError = e.toString();
                log.warn("zookeeper source task failed source={} error=\"{}\"", name(), e.toString(), e);
            }
        };
    }

    private static void await(Future<?> f) {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("zookeeper source thread did not respond", e);
        }
    }

    private static boolean isConnectionProblem(KeeperException.Code code) {
        return code == KeeperException.Code.CONNECTIONLOSS || code == KeeperException.Code.SESSIONEXPIRED
                || code == KeeperException.Code.SESSIONMOVED || code == KeeperException.Code.OPERATIONTIMEOUT;
    }

    static CuratorFramework buildClient(ZooKeeperSettings s) {
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(s.connectString())
                .sessionTimeoutMs((int) s.sessionTimeout().toMillis())
                .connectionTimeoutMs((int) s.connectionTimeout().toMillis())
                // Only the cache's reads use it; reconnecting is Curator's own loop.
                .retryPolicy(new BoundedExponentialBackoffRetry(100, 2000, 5));
        s.namespace().ifPresent(b::namespace);
        s.digestAuth().ifPresent(a -> b.authorization("digest", a.getBytes(StandardCharsets.UTF_8)));
        s.tls().ifPresent(t -> b.zkClientConfig(tlsClientConfig(t)));
        return b.build();
    }

    /** ZooKeeper's client TLS switches: the Netty socket plus the X509 store properties. */
    static ZKClientConfig tlsClientConfig(ZooKeeperSettings.Tls tls) {
        ZKClientConfig config = new ZKClientConfig();
        config.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        config.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        try (ClientX509Util x509 = new ClientX509Util()) {
            config.setProperty(x509.getSslTruststoreLocationProperty(), tls.trustStore().toString());
            config.setProperty(x509.getSslTruststorePasswdProperty(), tls.trustStorePassword());
            tls.keyStore().ifPresent(k -> config.setProperty(x509.getSslKeystoreLocationProperty(), k.toString()));
            tls.keyStorePassword().ifPresent(p -> config.setProperty(x509.getSslKeystorePasswdProperty(), p));
            config.setProperty(x509.getSslHostnameVerificationEnabledProperty(),
                    Boolean.toString(tls.hostnameVerification()));
        }
        return config;
    }
}
