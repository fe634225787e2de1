package io.tandem.core.node;

import static java.util.Objects.requireNonNull;

import io.tandem.core.control.ControlLoop;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads when the config file's content has changed <em>and stopped changing</em>. Runs on one
 * virtual thread.
 *
 * <p><b>What it follows.</b> The configured path and every symbolic link on the way to the real
 * file, in any component: the Kubernetes ConfigMap layout is {@code tandem.yaml ->
 * ..data/tandem.yaml} with {@code ..data -> ..2026_12_07_xx}, updated by writing a new
 * {@code ..2026_...} directory and renaming a new {@code ..data} link over the old one. The
 * watcher watches the directory holding each link and the directory of the real file, and on
 * every event there (for one of those names) or poll it resolves the chain again and moves its
 * watches — so a retargeted link is noticed although the new file's directory never sees an
 * event.
 *
 * <p><b>When it reloads.</b> Only content that stayed identical (same real path, size,
 * modification time and SHA-256) for a settle window ({@link #SETTLE}) counted from the
 * <em>last</em> event, re-checked until it holds: a file written in several steps (truncate, write,
 * append a moment later) is applied once, complete. An inotify close-write would not help there
 * — each step closes the file — and Java's {@code WatchService} has none; a settle window works
 * for every writer, on every platform. A change of metadata alone ({@code touch}, the same bytes
 * written again, the same content behind a new link) is not a reload. Only regular files are
 * read, with a streaming digest and at most {@link #MAX_DIGEST_BYTES}; a larger file is compared
 * by size, time and inode, and its reload is left to the config source to refuse with a reason.
 *
 * <p><b>Missed events.</b> It also polls ({@link #POLL}): an event lost to a queue overflow, a
 * directory swapped above the watched ones, a network file system without notifications. The
 * poll reads a small file every few seconds — nothing next to a reload.
 *
 * <p>Between the settled check and the control loop reading the file a writer could start again;
 * its own events then lead to one more, complete reload. A writer that pauses longer than the
 * settle window between two steps cannot be told from two edits: write a temporary file and
 * rename it over the config (what editors, Ansible and Kubernetes do).
 */
final class ConfigWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);
    /** How long content must stay identical, after the last event, before it is reloaded. */
    static final Duration SETTLE = Duration.ofSeconds(1);
    /** How often the file is compared even without events. */
    static final Duration POLL = Duration.ofSeconds(3);
    /** Files larger than this are not read by the watcher (compared by size, time and inode). */
    static final long MAX_DIGEST_BYTES = 16L << 20;
    private static final int MAX_LINKS = 40; // like Linux's MAXSYMLINKS
    private static final Duration STILL_CHANGING_NOTE = Duration.ofSeconds(10);

    private final Path file;
    private final Supplier<? extends CompletableFuture<?>> reload;
    private final long settleNanos;
    private final long pollNanos;
    private final WatchService watch;
    private final Map<Path, WatchKey> keys = new HashMap<>();
    private final Thread thread;
    // Watcher thread only.
    private Chain chain;
    /** The file as last looked at. */
    private Snapshot seen;
    /** The content the running config was read from: at start, then what each reload was asked for. */
    private Snapshot loaded;
    private String lastProblem;

    private ConfigWatcher(Path file, Supplier<? extends CompletableFuture<?>> reload, Duration settle, Duration poll,
                          WatchService watch) {
        this.file = file.toAbsolutePath();
        this.reload = reload;
        this.settleNanos = settle.toNanos();
        this.pollNanos = poll.toNanos();
        this.watch = watch;
        this.chain = follow();
        this.seen = Snapshot.of(chain.real());
        this.loaded = seen;
        this.thread = Thread.ofVirtual().name("tandem-config-watch").unstarted(this::run);
    }

    /** Watches {@code file} for the node's control loop; null (with a warning) if no watch is possible. */
    static ConfigWatcher start(Path file, ControlLoop control) {
        return start(file, control::reload, SETTLE, POLL);
    }

    static ConfigWatcher start(Path file, Supplier<? extends CompletableFuture<?>> reload, Duration settle,
                               Duration poll) {
        requireNonNull(file, "file");
        requireNonNull(reload, "reload");
        try {
            ConfigWatcher w = new ConfigWatcher(file, reload, settle, poll, FileSystems.getDefault().newWatchService());
            log.info("config watch started file={} real={} links={} settle_ms={} poll_ms={}", w.file, w.chain.real(),
                    w.chain.links().size(), settle.toMillis(), poll.toMillis());
            w.thread.start();
            return w;
        } catch (IOException e) {
            log.warn("config watch unavailable file={} error=\"{}\" (reload with SIGHUP or POST /api/reload)",
                    file, e.toString());
            return null;
        }
    }

    private void run() {
        try {
            while (true) {
                WatchKey key = watch.poll(pollNanos, TimeUnit.NANOSECONDS);
                if (key != null && !concernsChain(key)) {
                    continue;
                }
                try {
                    check(key != null);
                } catch (IOException | RuntimeException e) {
                    log.warn("config watch check failed file={} error=\"{}\"", file, e.toString());
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        }
    }

    /** After an event on the chain (or a poll): settle, then reload if the content changed. */
    private void check(boolean byEvent) throws InterruptedException, IOException {
        chain = follow();
        Snapshot now = Snapshot.of(chain.real());
        if (now.equals(seen)) {
            return; // nothing at all changed since the last look
        }
        if (now.sameContent(loaded)) {
            seen = now; // a touch, the same bytes again, the same content behind a new link
            lastProblem = null;
            return;
        }
        long started = System.nanoTime();
        Snapshot settled = settle(now);
        seen = settled;
        if (!settled.readable()) {
            problem(settled.problem());
            return;
        }
        lastProblem = null;
        if (settled.sameContent(loaded)) {
            return; // changed and changed back
        }
        loaded = settled;
        log.info("reload requested by=file-change file={} real={} noticed_by={} settled_ms={}", file, settled.real(),
                byEvent ? "event" : "poll", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        try {
            reload.get().join();
        } catch (RuntimeException e) {
            log.warn("reload after file change failed file={} error=\"{}\"", file, e.toString());
        }
    }

    /**
     * Waits until the content stayed identical for the settle window since the last event on the
     * chain, re-checking as long as it keeps changing. Returns that content.
     */
    private Snapshot settle(Snapshot candidate) throws InterruptedException, IOException {
        long start = System.nanoTime();
        long deadline = start + settleNanos;
        boolean noted = false;
        while (true) {
            long remaining = deadline - System.nanoTime();
            if (remaining > 0) {
                WatchKey key = watch.poll(remaining, TimeUnit.NANOSECONDS);
                if (key != null && concernsChain(key)) {
                    chain = follow();
                    deadline = System.nanoTime() + settleNanos;
                }
                continue;
            }
            chain = follow();
            Snapshot again = Snapshot.of(chain.real());
            if (again.equals(candidate)) {
                return again;
            }
            candidate = again; // changed without an event we saw: start over
            deadline = System.nanoTime() + settleNanos;
            if (!noted && System.nanoTime() - start > STILL_CHANGING_NOTE.toNanos()) {
                noted = true;
                log.info("config file keeps changing file={} (reloads once it has been stable for {} ms)", file,
                        TimeUnit.NANOSECONDS.toMillis(settleNanos));
            }
        }
    }

    /** Drains {@code key}; whether any of its events concerns a name on the chain. */
    private boolean concernsChain(WatchKey key) {
        Path dir = (Path) key.watchable();
        Set<Path> names = chain.names().getOrDefault(dir, Set.of());
        boolean ours = false;
        for (WatchEvent<?> ev : key.pollEvents()) {
            if (ev.kind() == StandardWatchEventKinds.OVERFLOW
                    || ev.context() instanceof Path p && names.contains(p)) {
                ours = true;
            }
        }
        if (!key.reset()) {
            keys.remove(dir, key); // the directory is gone: the chain changed
            ours |= chain.names().containsKey(dir);
        }
        return ours;
    }

    /** Resolves the chain from the configured path and moves the watches to its directories. */
    private Chain follow() {
        Chain c = Chain.resolve(file);
        for (Path dir : c.names().keySet()) {
            try {
                // Idempotent for a directory already watched; a new key means a new directory at
                // that path (swapped by rename): drop the old one.
                WatchKey k = dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE,
                        StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
                WatchKey old = keys.put(dir, k);
                if (old != null && old != k) {
                    old.cancel();
                }
            } catch (IOException e) {
                log.debug("config watch cannot watch dir={} error=\"{}\" (the poll covers it)", dir, e.toString());
            }
        }
        for (var it = keys.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!c.names().containsKey(e.getKey())) {
                e.getValue().cancel();
                it.remove();
            }
        }
        if (chain != null && !chain.real().equals(c.real())) {
            log.info("config path retargeted file={} real={} was={}", file, c.real(), chain.real());
        }
        return c;
    }

    private void problem(String what) {
        if (!what.equals(lastProblem)) {
            lastProblem = what;
            log.warn("config file not reloaded file={} reason=\"{}\" (the running config stays)", file, what);
        }
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            watch.close();
        } catch (IOException e) {
            log.debug("watch close error=\"{}\"", e.toString());
        }
    }

    /**
     * The configured path resolved link by link: the real file, the links met on the way, and
     * for each directory to watch the names in it that belong to the chain.
     */
    record Chain(Path real, List<Path> links, Map<Path, Set<Path>> names) {
        static Chain resolve(Path configured) {
            Path abs = configured.toAbsolutePath();
            Deque<Path> todo = new ArrayDeque<>();
            abs.forEach(todo::add);
            Path cur = abs.getRoot();
            List<Path> links = new ArrayList<>();
            Map<Path, Set<Path>> names = new LinkedHashMap<>();
            while (!todo.isEmpty()) {
                Path name = todo.removeFirst();
                String n = name.toString();
                if (n.equals(".")) {
                    continue;
                }
                if (n.equals("..")) {
                    cur = cur.getParent() == null ? cur : cur.getParent(); // cur is already resolved
                    continue;
                }
                Path next = cur.resolve(name);
                names.computeIfAbsent(cur, d -> new HashSet<>());
                if (Files.isSymbolicLink(next) && links.size() < MAX_LINKS) {
                    names.get(cur).add(name);
                    links.add(next);
                    Path target;
                    try {
                        target = Files.readSymbolicLink(next);
                    } catch (IOException e) {
                        return new Chain(next, List.copyOf(links), freeze(names)); // replaced meanwhile
                    }
                    List<Path> parts = new ArrayList<>();
                    target.forEach(parts::add);
                    for (int i = parts.size() - 1; i >= 0; i--) {
                        todo.addFirst(parts.get(i));
                    }
                    if (target.isAbsolute()) {
                        cur = target.getRoot();
                    }
                    continue;
                }
                if (todo.isEmpty() || !Files.isDirectory(next, LinkOption.NOFOLLOW_LINKS)) {
                    // The file itself, or a component that is missing: watch for it in its directory.
                    names.get(cur).add(name);
                    if (!todo.isEmpty()) {
                        Path missing = next;
                        for (Path rest : todo) {
                            missing = missing.resolve(rest);
                        }
                        return new Chain(missing, List.copyOf(links), freeze(names));
                    }
                    return new Chain(next, List.copyOf(links), freeze(names));
                }
                cur = next;
            }
            return new Chain(cur, List.copyOf(links), freeze(names));
        }

        private static Map<Path, Set<Path>> freeze(Map<Path, Set<Path>> names) {
            Map<Path, Set<Path>> out = new LinkedHashMap<>();
            names.forEach((dir, ns) -> {
                if (!ns.isEmpty()) {
                    out.put(dir, Set.copyOf(ns));
                }
            });
            return java.util.Collections.unmodifiableMap(out);
        }
    }

    /**
     * What the file looked like at one moment. {@code digest} is null when the file was not read
     * (missing, not a regular file, larger than {@link #MAX_DIGEST_BYTES}); {@code problem} says
     * why a file cannot be reloaded at all.
     */
    record Snapshot(Path real, long size, FileTime modified, Object fileKey, byte[] digest, String problem) {
        static Snapshot of(Path real) {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(real, BasicFileAttributes.class);
            } catch (IOException e) {
                return new Snapshot(real, -1, null, null, null, "cannot read: " + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : " " + e.getMessage()));
            }
            if (!a.isRegularFile()) {
                return new Snapshot(real, a.size(), a.lastModifiedTime(), a.fileKey(), null,
                        "not a regular file" + (a.isDirectory() ? " (a directory)" : ""));
            }
            if (a.size() > MAX_DIGEST_BYTES) {
                return new Snapshot(real, a.size(), a.lastModifiedTime(), a.fileKey(), null, null);
            }
            try {
                return new Snapshot(real, a.size(), a.lastModifiedTime(), a.fileKey(), digest(real), null);
            } catch (IOException e) {
                return new Snapshot(real, -1, null, null, null, "cannot read: " + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : " " + e.getMessage()));
            }
        }

        boolean readable() {
            return problem == null;
        }

        /** Same bytes (or, for a file too large to read, same size, time and inode). */
        boolean sameContent(Snapshot o) {
            if (o == null || !Objects.equals(problem, o.problem)) {
                return false;
            }
            if (digest != null || o.digest != null) {
                return Arrays.equals(digest, o.digest);
            }
            return equals(o);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Snapshot o && real.equals(o.real) && size == o.size
                    && Objects.equals(modified, o.modified) && Objects.equals(fileKey, o.fileKey)
                    && Arrays.equals(digest, o.digest) && Objects.equals(problem, o.problem);
        }

        @Override
        public int hashCode() {
            return Objects.hash(real, size, modified, fileKey, Arrays.hashCode(digest), problem);
        }

        private static byte[] digest(Path file) throws IOException {
            MessageDigest md;
            try {
                md = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            try (InputStream in = Files.newInputStream(file)) {
                int n;
                while ((n = in.read(buf)) > 0 && total <= MAX_DIGEST_BYTES) {
                    md.update(buf, 0, n);
                    total += n;
                }
            }
            return md.digest();
        }
    }
}
