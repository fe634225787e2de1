package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.config.VipConfig;
import io.tandem.discovery.DiscoverySource;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.SnapshotStore;
import io.tandem.discovery.SourceState;
import io.tandem.discovery.SourceStats;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backends and VIPs from Marathon. The SSE stream ({@code /v2/events}) is treated as what
 * Marathon's own docs say it is — an unordered, unreplayable stream of cache-invalidation hints —
 * and {@code /v2/apps?embed=apps.tasks} as the truth: a full resync runs after every (re)attach,
 * periodically, and when the model cannot be patched; events patch one task in place (for
 * latency) or re-fetch one app.
 *
 * <p>Threads (all virtual, blocking is fine): a <em>stream</em> thread owns the HTTP connection
 * and its parser and only posts work; a single <em>sync</em> thread owns the app model, applies
 * work in order, runs REST fetches (at most one in flight; further requests coalesce into one
 * pending flag / a set of dirty app ids) and calls the listener; a small timer posts periodic
 * resyncs and kills a stream that has been silent for {@link MarathonSettings#silenceTimeout()}.
 *
 * <p>What can be missed: events sent while no stream is attached are lost (Marathon has no
 * replay), which is why every attach is followed by a full resync; while the stream is down the
 * last known membership is re-published with {@code stale=true} and never emptied.
 *
 * <p>Service keys: {@code <appId>#<portIndex>} for every app port, plus
 * {@link MarathonVip#serviceName()} ({@code vip:tcp:198.18.128.7:8080}) for each VIP label;
 * {@link #vips()} lists the VIPs.
 */
public final class MarathonSource implements DiscoverySource {
    private static final Logger log = LoggerFactory.getLogger(MarathonSource.class);

    /** An app definition is one line of JSON; a generous cap keeps one bad line from eating the heap. */
    static final int MAX_LINE_BYTES = 32 << 20;
    private static final Pattern APP_ID = Pattern.compile("(/[A-Za-z0-9._-]+)+");
    private static final int TOMBSTONES = 10_000;
    private static final int MAX_PENDING_EVENTS = 1000;
    /** The kind of the snapshot data on disk: a {@code /v2/apps?embed=apps.tasks} response. */
    static final String SNAPSHOT_KIND = "marathon-apps";

    private enum Lifecycle { LATENT, STARTED, CLOSED }

    private sealed interface Work {
        record Attached(URI base) implements Work { }

        /** @param receivedNanos when the stream thread read it: the start of its propagation time */
        record Event(SseParser.SseEvent event, long receivedNanos) implements Work { }

        record StreamDown(String reason) implements Work { }

        record Resync(String why) implements Work { }
    }

    private static final class StreamHandle {
        final InputStream body;
        boolean silenced; // guarded by streamLock

        StreamHandle(InputStream body) {
            this.body = body;
        }
    }

    private final String name;
    private final MarathonSettings settings;
    private final AtomicReference<Lifecycle> lifecycle = new AtomicReference<>(Lifecycle.LATENT);
    private final SourceStats stats = new SourceStats();
    private final Drops drops = new Drops(TimeUnit.SECONDS.toNanos(10), stats);
    private final AppParser parser = new AppParser(drops);
    private final SnapshotStore store;
    private final SnapshotBuilder builder;
    private final MarathonHttp http;
    private final BlockingQueue<Work> queue = new LinkedBlockingQueue<>();

    private volatile Listener listener;
    private volatile Thread streamThread;
    private volatile Thread syncThread;
    private volatile ScheduledExecutorService timer;

    // visible state (written by the sync/stream threads, read by state())
    private volatile boolean connected;
    private volatile Instant staleSince;
    private volatile String lastError;
    private volatile Instant lastEventAt;
    private volatile Map<String, MarathonVip> vips = Map.of();
    private volatile Map<String, VipConfig> declared = Map.of();
    private volatile Map<String, List<String>> notes = Map.of();
    /** Serving the snapshot read from disk; cleared by the first resync. */
    private volatile boolean restored;

    // stream thread + watchdog
    private final Object streamLock = new Object();
    private StreamHandle current; // guarded by streamLock
    private volatile long lastByteNanos;

    // owned by the sync thread
    private final Map<String, MarathonApp> apps = new HashMap<>();
    private final Map<String, Boolean> healthOverrides = new HashMap<>();
    private final Set<String> dirtyApps = new LinkedHashSet<>();
    private final Map<String, Boolean> tombstones = new LinkedHashMap<>(256, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > TOMBSTONES;
        }
    };
    private boolean fullResyncPending = true;
    private long resyncNotBefore;
    private int restFailures;
    private boolean synced;
    private boolean syncedSinceAttach;
    private boolean modelChanged;
    private Map<String, Set<Endpoint>> lastServices;
    private boolean lastStale;
    private Map<String, VipConfig> lastDeclared = Map.of();
    private Set<String> lastProblems = Set.of();
    /** Receive times of the events applied since the last published snapshot (propagation samples). */
    private final List<Long> pendingEvents = new ArrayList<>();
    /** Apps the label selector leaves out: their status updates are ignored instead of re-fetching them. */
    private final Map<String, Boolean> excluded = new LinkedHashMap<>(256, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > TOMBSTONES;
        }
    };
    private Map<String, List<String>> warnedNotes = Map.of();
    private boolean attachedBefore;

    /** A source named {@code marathon}. */
    public MarathonSource(MarathonSettings settings) {
        this("marathon", settings);
    }

    /** @param name unique among the node's sources, for logs and the admin API */
    public MarathonSource(String name, MarathonSettings settings) {
        this.name = requireNonNull(name, "name");
        this.settings = requireNonNull(settings, "settings");
        this.builder = new SnapshotBuilder(settings);
        this.http = new MarathonHttp(settings);
        this.store = settings.stateDir().map(d -> new SnapshotStore(d, name, SNAPSHOT_KIND)).orElse(null);
    }

    @Override
    public String name() {
        return name;
    }

    public MarathonSettings settings() {
        return settings;
    }

    /**
     * VIPs declared by port labels in the last published snapshot, by service key
     * ({@link MarathonVip#serviceName()}). Immutable; safe from any thread.
     */
    public Map<String, MarathonVip> vips() {
        return vips;
    }

    /**
     * VIP configs the apps declare, by name: one per DC/OS VIP label ({@code marathon-<name>-<port>-<proto>})
     * and one per Marathon-LB service port this node serves ({@code marathon-lb-<app>-<port>-<proto>}),
     * each bound to the service carrying its backends and, unless turned off, with the app's Marathon
     * health check as its active check. Immutable; safe from any thread.
     */
    public Map<String, VipConfig> declaredVips() {
        return declared;
    }

    @Override
    public SourceStats stats() {
        return stats;
    }

    @Override
    public void start(Listener listener) {
        requireNonNull(listener, "listener");
        if (!lifecycle.compareAndSet(Lifecycle.LATENT, Lifecycle.STARTED)) {
            throw new IllegalStateException("lifecycle: " + lifecycle.get() + " (expected LATENT: start at most once)");
        }
        this.listener = listener;
        // before the stream attaches, the first resync waits (the attach triggers it at once);
        // if the stream cannot attach at all, REST alone still fills the model, marked stale
        resyncNotBefore = System.nanoTime() + settings.connectTimeout().toNanos();
        ScheduledExecutorService t = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("marathon-timer-" + name).factory());
        timer = t;
        syncThread = Thread.ofVirtual().name("marathon-sync-" + name).start(this::runSync);
        streamThread = Thread.ofVirtual().name("marathon-stream-" + name).start(this::runStream);
        long silenceCheck = Math.max(10, settings.silenceTimeout().toMillis() / 5);
        t.scheduleWithFixedDelay(this::checkSilence, silenceCheck, silenceCheck, TimeUnit.MILLISECONDS);
        long resync = settings.resyncInterval().toMillis();
        t.scheduleWithFixedDelay(() -> queue.add(new Work.Resync("periodic")), resync, resync, TimeUnit.MILLISECONDS);
        log.info("marathon source started name={} urls={} auth={}", name, settings.urls(),
                settings.auth().map(a -> a.getClass().getSimpleName()).orElse("none"));
    }

    @Override
    public SourceState state() {
        return new SourceState(connected, Optional.ofNullable(staleSince), Optional.ofNullable(lastError),
                Optional.ofNullable(lastEventAt), drops.count(), restored, notes);
    }

    /**
     * Sync thread, before anything else: the last good snapshot from the state directory, if there
     * is one, becomes the model and is published stale at once, so a node started while Marathon
     * is down serves the last known backends. The first resync replaces it.
     */
    private void restore() {
        if (store == null) {
            return;
        }
        Optional<SnapshotStore.Saved> saved = store.load();
        if (saved.isEmpty()) {
            return;
        }
        Map<String, MarathonApp> fresh;
        try {
            fresh = parser.parseApps(saved.get().data());
        } catch (IllegalArgumentException e) {
            log.warn("discovery snapshot ignored source={} file={} reason=\"{}\"", name, store.file(), e.getMessage());
            return;
        }
        apps.putAll(filtered(fresh));
        restored = true;
        staleSince = Instant.now();
        stats.updated(saved.get().savedAt());
        modelChanged = true;
        int tasks = apps.values().stream().mapToInt(a -> a.tasks().size()).sum();
        log.warn("marathon serving the last known membership from disk until Marathon answers name={} saved_at={} "
                + "apps={} tasks={}", name, saved.get().savedAt(), apps.size(), tasks);
        publish();
    }

    /** Apps the label selector keeps; the others are remembered as excluded. */
    private Map<String, MarathonApp> filtered(Map<String, MarathonApp> in) {
        if (settings.labelSelector().isEmpty()) {
            return in;
        }
        Map<String, MarathonApp> out = new LinkedHashMap<>();
        for (MarathonApp a : in.values()) {
            if (settings.labelSelector().get().matches(a.labels())) {
                out.put(a.id(), a);
            } else {
                excluded.put(a.id(), Boolean.TRUE);
            }
        }
        return out;
    }

    @Override
    public void close() {
        Lifecycle prev = lifecycle.getAndSet(Lifecycle.CLOSED);
        if (prev == Lifecycle.CLOSED) {
            return;
        }
        if (prev == Lifecycle.STARTED) {
            timer.shutdownNow();
            synchronized (streamLock) {
                if (current != null) {
                    MarathonHttp.closeQuietly(current.body);
                }
            }
            streamThread.interrupt();
            syncThread.interrupt();
            join(streamThread);
            join(syncThread);
        }
        http.close();
        if (store != null) {
            store.close();
        }
        connected = false;
        stats.connected(false);
        log.info("marathon source closed name={}", name);
    }

    private static void join(Thread t) {
        try {
            if (!t.join(Duration.ofSeconds(5))) {
                log.warn("marathon thread did not stop thread={}", t.getName());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean started() {
        return lifecycle.get() == Lifecycle.STARTED;
    }

    // ------------------------------------------------------------------ stream thread

    private void runStream() {
        List<URI> urls = settings.urls();
        int attempt = 0;
        int next = 0;
        while (started()) {
            URI base = urls.get(Math.floorMod(next, urls.size()));
            long opened = System.nanoTime();
            String reason;
            try {
                reason = streamOnce(base);
            } catch (InterruptedException e) {
                reason = "interrupted";
            } catch (IOException e) {
                reason = e.getMessage() == null ? e.toString() : e.getMessage();
            } finally {
                synchronized (streamLock) {
                    current = null;
                }
                Thread.interrupted(); // a late silence kill must not cut the back-off sleep
            }
            if (!started()) {
                break;
            }
            lastError = reason;
            queue.add(new Work.StreamDown(reason));
            if (System.nanoTime() - opened >= settings.backoffResetAfter().toNanos()) {
                attempt = 0;
            }
            long delay = backoffNanos(attempt++);
            next++;
            log.info("marathon stream down name={} url={} reason=\"{}\" reconnect_in_ms={} next_url={}", name, base,
                    reason, TimeUnit.NANOSECONDS.toMillis(delay), urls.get(Math.floorMod(next, urls.size())));
            try {
                TimeUnit.NANOSECONDS.sleep(delay);
            } catch (InterruptedException e) {
                if (!started()) {
                    break;
                }
            }
        }
    }

    /** Reads one stream to its end; returns why it ended. */
    private String streamOnce(URI base) throws IOException, InterruptedException {
        MarathonHttp.OpenStream os = http.openStream(base);
        StreamHandle h = new StreamHandle(os.body());
        synchronized (streamLock) {
            if (!started()) {
                MarathonHttp.closeQuietly(os.body());
                return "closed";
            }
            lastByteNanos = System.nanoTime();
            current = h;
        }
        log.info("marathon stream open name={} url={} base={}", name, base, os.base());
        boolean[] attached = {false};
        SseParser sse = new SseParser(new SseParser.Sink() {
            @Override
            public void onEvent(SseParser.SseEvent event) {
                lastEventAt = Instant.now();
                if (!attached[0]) {
                    // normally event_stream_attached; any first event proves the subscription is live
                    attached[0] = true;
                    queue.add(new Work.Attached(os.base()));
                }
                if (!event.type().equals("event_stream_attached")) {
                    queue.add(new Work.Event(event, System.nanoTime()));
                }
            }

            @Override
            public void onOversized(String type, int limit) {
                drops.drop("event", type, "a line longer than " + limit + " bytes");
                queue.add(new Work.Resync("oversized event"));
            }
        }, MAX_LINE_BYTES);
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = os.body()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                lastByteNanos = System.nanoTime();
                sse.feed(buf, 0, n);
            }
            return "end of stream (leader abdication or slow-consumer close)";
        } catch (IOException e) {
            synchronized (streamLock) {
                if (h.silenced) {
                    return "silent for more than " + settings.silenceTimeout().toMillis() + " ms";
                }
            }
            if (!started()) {
                return "closed";
            }
            throw e;
        }
    }

    private void checkSilence() {
        synchronized (streamLock) {
            StreamHandle h = current;
            if (h == null || h.silenced) {
                return;
            }
            long silentNanos = System.nanoTime() - lastByteNanos;
            if (silentNanos > settings.silenceTimeout().toNanos()) {
                h.silenced = true;
                log.warn("marathon stream silent, reconnecting name={} silent_ms={} limit_ms={}", name,
                        TimeUnit.NANOSECONDS.toMillis(silentNanos), settings.silenceTimeout().toMillis());
                MarathonHttp.closeQuietly(h.body);
                Thread t = streamThread;
                if (t != null) {
                    t.interrupt();
                }
            }
        }
    }

    /** Exponential (x2) from backoffInitial to backoffMax, equal jitter: a value in [d/2, d). */
    private long backoffNanos(int attempt) {
        long initial = settings.backoffInitial().toNanos();
        long max = settings.backoffMax().toNanos();
        long d = attempt >= 30 ? max : Math.min(max, initial << Math.min(attempt, 30));
        if (d <= 0) {
            d = max;
        }
        long half = Math.max(1, d / 2);
        return half + ThreadLocalRandom.current().nextLong(half);
    }

    // ------------------------------------------------------------------ sync thread

    private void runSync() {
        // first of all, on this thread (the listener may block: it resolves host names), the snapshot on disk
        try {
            restore();
        } catch (RuntimeException e) {
            log.warn("discovery snapshot not restored name={} reason=\"{}\"", name, e.toString(), e);
        }
        while (started()) {
            try {
                long now = System.nanoTime();
                boolean fetchReady = fullResyncPending ? now - resyncNotBefore >= 0 : !dirtyApps.isEmpty();
                long waitNanos = fetchReady ? 0
                        : fullResyncPending ? resyncNotBefore - now : TimeUnit.SECONDS.toNanos(1);
                long saveIn = store == null ? -1 : store.nanosUntilDue();
                if (saveIn >= 0) {
                    waitNanos = Math.min(waitNanos, saveIn);
                }
                Work w = queue.poll(waitNanos, TimeUnit.NANOSECONDS);
                while (w != null) {
                    apply(w);
                    w = queue.poll();
                }
                publish();
                if (fullResyncPending) {
                    if (System.nanoTime() - resyncNotBefore >= 0) {
                        fullResync();
                    }
                } else if (!dirtyApps.isEmpty()) {
                    refetchOneApp();
                }
                publish();
                persistIfDue();
            } catch (InterruptedException e) {
                if (started()) {
                    log.debug("marathon sync thread interrupted while running name={}", name);
                }
            } catch (RuntimeException e) {
                // never let one surprise stop discovery
                lastError = e.toString();
                log.warn("marathon sync step failed name={} reason=\"{}\"", name, e.toString(), e);
            }
        }
    }

    private void apply(Work w) {
        switch (w) {
            case Work.Attached a -> {
                if (attachedBefore) {
                    stats.reconnected();
                }
                attachedBefore = true;
                connected = true;
                stats.connected(true);
                syncedSinceAttach = false;
                http.preferRestBase(a.base());
                requestFullResync(true);
                log.info("marathon stream attached name={} base={}", name, a.base());
            }
            case Work.StreamDown d -> {
                boolean wasConnected = connected;
                connected = false;
                stats.connected(false);
                syncedSinceAttach = false;
                if (staleSince == null) {
                    staleSince = Instant.now();
                }
                modelChanged = true;
                if (wasConnected) {
                    log.warn("marathon stream lost, serving last known membership as stale name={} reason=\"{}\"",
                            name, d.reason());
                }
            }
            case Work.Resync r -> {
                log.debug("marathon resync requested name={} why={}", name, r.why());
                requestFullResync(false);
            }
            case Work.Event e -> {
                // an event that changes the model, or asks for a fetch that may, starts a propagation sample
                boolean changedBefore = modelChanged;
                int dirtyBefore = dirtyApps.size();
                boolean resyncBefore = fullResyncPending;
                modelChanged = false;
                onEvent(e.event());
                boolean acted = modelChanged || dirtyApps.size() > dirtyBefore || (fullResyncPending && !resyncBefore);
                modelChanged |= changedBefore;
                if (acted && pendingEvents.size() < MAX_PENDING_EVENTS) {
                    pendingEvents.add(e.receivedNanos());
                }
            }
        }
    }

    private void requestFullResync(boolean now) {
        if (!fullResyncPending || now) {
            fullResyncPending = true;
            if (now || restFailures == 0) {
                resyncNotBefore = System.nanoTime();
            }
        }
    }

    private void fullResync() throws InterruptedException {
        long t0 = System.nanoTime();
        try {
            JsonNode root = http.getJson("/v2/apps", APPS_QUERY + selectorQuery()).orElseThrow(
                    () -> new MarathonHttp.MarathonHttpException("/v2/apps: 404 (expected the app list)"));
            excluded.clear();
            Map<String, MarathonApp> fresh = filtered(parser.parseApps(root));
            apps.clear();
            apps.putAll(fresh);
            restored = false;
            stats.resynced();
            stats.updated(Instant.now());
            healthOverrides.clear();
            dirtyApps.clear();
            fullResyncPending = false;
            restFailures = 0;
            synced = true;
            if (connected) {
                syncedSinceAttach = true;
                staleSince = null;
            }
            modelChanged = true;
            int tasks = fresh.values().stream().mapToInt(a -> a.tasks().size()).sum();
            log.info("marathon resync done name={} apps={} tasks={} took_ms={}", name, fresh.size(), tasks,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        } catch (IOException | IllegalArgumentException e) {
            restFailed("resync", e);
        }
    }

    private static final String APPS_QUERY = "embed=apps.tasks";

    /** {@code &label=<query>} when a selector is set: Marathon filters the app list itself. */
    private String selectorQuery() {
        return settings.labelSelector().map(l -> "&label=" + java.net.URLEncoder.encode(l.query(),
                java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20")).orElse("");
    }

    private void refetchOneApp() throws InterruptedException {
        String id = dirtyApps.iterator().next();
        dirtyApps.remove(id);
        if (!APP_ID.matcher(id).matches()) {
            requestFullResync(false);
            return;
        }
        try {
            Optional<JsonNode> json = http.getJson("/v2/apps" + id, "embed=app.tasks");
            if (json.isEmpty()) {
                if (apps.remove(id) != null) {
                    modelChanged = true;
                    log.info("marathon app gone name={} app={}", name, id);
                }
                return;
            }
            Optional<MarathonApp> app = parser.parseAppEntry(json.get().get("app"));
            stats.updated(Instant.now());
            if (app.isPresent() && settings.labelSelector().isPresent()
                    && !settings.labelSelector().get().matches(app.get().labels())) {
                excluded.put(id, Boolean.TRUE);
                if (apps.remove(id) != null) {
                    modelChanged = true;
                    log.info("marathon app no longer matches the label selector name={} app={}", name, id);
                }
                return;
            }
            if (app.isPresent()) {
                MarathonApp old = apps.put(id, app.get());
                clearOverrides(old);
                clearOverrides(app.get());
                modelChanged = true;
            }
        } catch (IOException e) {
            dirtyApps.add(id);
            restFailed("app " + id, e);
        }
    }

    private void restFailed(String what, Exception e) {
        restFailures++;
        fullResyncPending = true;
        long delay = backoffNanos(restFailures - 1);
        resyncNotBefore = System.nanoTime() + delay;
        lastError = what + ": " + e.getMessage();
        log.warn("marathon rest failed name={} what=\"{}\" reason=\"{}\" retry_in_ms={}", name, what,
                e.getMessage(), TimeUnit.NANOSECONDS.toMillis(delay));
    }

    private void clearOverrides(MarathonApp app) {
        if (app != null) {
            for (MarathonTask t : app.tasks().values()) {
                healthOverrides.remove(t.instanceId());
                healthOverrides.remove(t.id());
            }
        }
    }

    private void onEvent(SseParser.SseEvent e) {
        JsonNode json;
        try {
            json = http.mapper().readTree(e.data());
        } catch (JacksonException ex) {
            drops.drop("event", e.type(), "malformed JSON: " + ex.getOriginalMessage());
            return;
        }
        if (json == null || !json.isObject()) {
            drops.drop("event", e.type(), "data: not a JSON object");
            return;
        }
        try {
            switch (e.type()) {
                case "event_stream_attached", "event_stream_detached" -> { }
                case "status_update_event" -> onStatusUpdate(json);
                case "health_status_changed_event" -> {
                    String id = json.path("instanceId").isTextual() ? json.get("instanceId").asText()
                            : AppParser.requiredText(json, "taskId"); // up to 1.3.x
                    JsonNode alive = json.get("alive");
                    if (alive == null || !alive.isBoolean()) {
                        throw new IllegalArgumentException("alive: " + alive + " (expected true or false)");
                    }
                    setHealth(id, Optional.of(alive.booleanValue()));
                }
                case "instance_health_changed_event" -> {
                    String id = AppParser.requiredText(json, "instanceId");
                    JsonNode healthy = json.get("healthy");
                    if (healthy != null && !healthy.isNull() && !healthy.isBoolean()) {
                        throw new IllegalArgumentException("healthy: " + healthy + " (expected true, false or null)");
                    }
                    setHealth(id, healthy == null || healthy.isNull() ? Optional.empty()
                            : Optional.of(healthy.booleanValue()));
                }
                case "api_post_event" -> {
                    String id = json.path("appDefinition").path("id").asText("");
                    if (id.isEmpty()) {
                        String uri = json.path("uri").asText("");
                        id = uri.startsWith("/v2/apps/") ? uri.substring("/v2/apps".length()) : "";
                    }
                    if (id.isEmpty()) {
                        requestFullResync(false);
                    } else {
                        excluded.remove(id); // its labels may have changed: read it again
                        dirtyApps.add(id);
                    }
                }
                case "app_terminated_event" -> {
                    String id = AppParser.requiredText(json, "appId");
                    if (apps.remove(id) != null) {
                        modelChanged = true;
                    }
                    dirtyApps.remove(id);
                }
                case "deployment_success", "deployment_failed" -> {
                    Set<String> ids = new HashSet<>();
                    for (JsonNode step : json.path("plan").path("steps")) {
                        for (JsonNode action : step.path("actions")) {
                            if (action.path("app").isTextual()) {
                                ids.add(action.get("app").asText());
                            }
                        }
                    }
                    if (ids.isEmpty()) {
                        requestFullResync(false);
                    } else {
                        dirtyApps.addAll(ids);
                    }
                }
                default -> drops.drop("event", e.type(), "unknown event type");
            }
        } catch (IllegalArgumentException ex) {
            drops.drop("event", e.type(), ex.getMessage());
        }
    }

    private void setHealth(String id, Optional<Boolean> healthy) {
        Boolean prev = healthy.isPresent() ? healthOverrides.put(id, healthy.get()) : healthOverrides.remove(id);
        if (!java.util.Objects.equals(prev, healthy.orElse(null))) {
            modelChanged = true;
        }
    }

    private void onStatusUpdate(JsonNode ev) {
        String appId = AppParser.requiredText(ev, "appId");
        String taskId = AppParser.requiredText(ev, "taskId");
        String status = ev.path("taskStatus").asText(null);
        TaskState state = TaskState.parse(status).orElseThrow(() -> new IllegalArgumentException(
                "taskStatus: " + status + " (expected a Mesos TaskState such as TASK_RUNNING)"));
        MarathonApp app = apps.get(appId);
        if (state.kind() == TaskState.Kind.TERMINAL) {
            tombstones.put(taskId, Boolean.TRUE);
            if (app != null && app.tasks().containsKey(taskId)) {
                apps.put(appId, app.withoutTask(taskId));
                modelChanged = true;
            }
            return;
        }
        if (tombstones.containsKey(taskId)) {
            log.debug("marathon late status ignored name={} task={} state={}", name, taskId, state);
            return;
        }
        if (app == null) {
            if (!excluded.containsKey(appId)) {
                dirtyApps.add(appId); // a new app: fetch its definition (ports, network mode)
            }
            return;
        }
        Optional<MarathonTask> prev = Optional.ofNullable(app.tasks().get(taskId));
        MarathonTask task = parser.fromStatusEvent(ev, app, state, prev);
        apps.put(appId, app.withTask(task));
        modelChanged = true;
    }

    private void publish() {
        if (!modelChanged || !(synced || restored) || !started()) {
            return;
        }
        modelChanged = false;
        SnapshotBuilder.Built b = builder.build(apps.values(), healthOverrides);
        Set<String> problems = Set.copyOf(b.problems());
        for (String p : problems) {
            if (!lastProblems.contains(p)) {
                drops.drop("named-vip", p, "address block exhausted");
            }
        }
        lastProblems = problems;
        vips = b.vips();
        declared = b.declared();
        warnNotes(b.notes());
        notes = b.notes();
        boolean stale = !(connected && syncedSinceAttach);
        if (b.services().equals(lastServices) && stale == lastStale && b.declared().equals(lastDeclared)) {
            if (dirtyApps.isEmpty() && !fullResyncPending) {
                pendingEvents.clear(); // nothing reached the node, nor will a fetch: no propagation to measure
            }
            return;
        }
        lastServices = b.services();
        lastStale = stale;
        lastDeclared = b.declared();
        stats.published(b.services(), stale, restored);
        try {
            listener.onSnapshot(this, b.services(), stale);
        } catch (RuntimeException e) {
            log.warn("marathon listener failed name={} reason=\"{}\"", name, e.toString(), e);
        }
        long now = System.nanoTime();
        for (long t : pendingEvents) {
            stats.propagated(now - t);
        }
        pendingEvents.clear();
        if (!stale && store != null) {
            store.changed();
        }
    }

    /** One WARN per app for notes it did not have at the last publish (so once, not on every resync). */
    private void warnNotes(Map<String, List<String>> next) {
        for (var e : next.entrySet()) {
            List<String> before = warnedNotes.getOrDefault(e.getKey(), List.of());
            List<String> fresh = e.getValue().stream().filter(n -> !before.contains(n)).toList();
            if (!fresh.isEmpty()) {
                log.warn("marathon app labels not applied as written name={} app={} notes=\"{}\"", name, e.getKey(),
                        String.join("; ", fresh));
            }
        }
        warnedNotes = next;
    }

    /** Writes the model (as a {@code /v2/apps} response) when it changed and the store's interval passed. */
    private void persistIfDue() {
        if (store == null || !store.due() || !started()) {
            return;
        }
        ObjectNode root = http.mapper().createObjectNode();
        ArrayNode arr = root.putArray("apps");
        List<MarathonApp> sorted = new ArrayList<>(apps.values());
        sorted.sort(java.util.Comparator.comparing(MarathonApp::id));
        for (MarathonApp a : sorted) {
            ObjectNode app = a.definition().deepCopy();
            ArrayNode tasks = app.putArray("tasks");
            for (MarathonTask t : a.tasks().values()) {
                tasks.add(taskJson(a.id(), t));
            }
            arr.add(app);
        }
        store.save(root, Instant.now());
    }

    /** A task in the shape {@code /v2/apps?embed=apps.tasks} has, health events folded in. */
    private ObjectNode taskJson(String appId, MarathonTask t) {
        ObjectNode o = http.mapper().createObjectNode();
        o.put("id", t.id());
        o.put("appId", appId);
        o.put("host", t.host());
        o.put("state", "TASK_" + t.state().name());
        ArrayNode ports = o.putArray("ports");
        t.ports().forEach(ports::add);
        ArrayNode ips = o.putArray("ipAddresses");
        for (String ip : t.ipAddresses()) {
            ips.addObject().put("ipAddress", ip).put("protocol", ip.indexOf(':') >= 0 ? "IPv6" : "IPv4");
        }
        t.locality().region().ifPresent(r -> o.put("region", r));
        t.locality().zone().ifPresent(z -> o.put("zone", z));
        Boolean override = healthOverrides.containsKey(t.instanceId()) ? healthOverrides.get(t.instanceId())
                : healthOverrides.get(t.id());
        Optional<Boolean> health = override != null ? Optional.of(override) : t.healthy();
        health.ifPresent(h -> o.putArray("healthCheckResults").addObject().put("alive", h)
                .put("instanceId", t.instanceId()));
        return o;
    }

    @Override
    public String toString() {
        return "MarathonSource[" + name + " " + settings.urls() + "]";
    }
}
