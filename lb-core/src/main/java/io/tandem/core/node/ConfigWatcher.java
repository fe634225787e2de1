package io.tandem.core.node;

import io.tandem.core.control.ControlLoop;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads when the config file changes. Watches the file's <em>directory</em>, because editors
 * and Kubernetes ConfigMaps replace files by rename, which a watch on the file itself would
 * miss; waits for writes to settle, and reloads only when the content really changed (a touch
 * or a rewrite with the same bytes is not a reload). Runs on one virtual thread.
 */
final class ConfigWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);
    private static final long SETTLE_MILLIS = 200;

    private final Path file;
    private final ControlLoop control;
    private final WatchService watch;
    private final Thread thread;
    private byte[] lastDigest;

    private ConfigWatcher(Path file, ControlLoop control, WatchService watch) {
        this.file = file.toAbsolutePath();
        this.control = control;
        this.watch = watch;
        this.lastDigest = digest(this.file);
        this.thread = Thread.ofVirtual().name("tandem-config-watch").unstarted(this::run);
    }

    static ConfigWatcher start(Path file, ControlLoop control) {
        try {
            Path abs = file.toAbsolutePath();
            WatchService ws = FileSystems.getDefault().newWatchService();
            abs.getParent().register(ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
            ConfigWatcher w = new ConfigWatcher(abs, control, ws);
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
                WatchKey key = watch.take();
                boolean ours = key.pollEvents().stream()
                        .anyMatch(ev -> ev.context() instanceof Path p && file.getFileName().equals(p.getFileName()));
                key.reset();
                if (!ours) {
                    continue;
                }
                // Let a multi-step write (truncate, write, rename) settle, then drain its events.
                TimeUnit.MILLISECONDS.sleep(SETTLE_MILLIS);
                WatchKey more;
                while ((more = watch.poll()) != null) {
                    more.pollEvents();
                    more.reset();
                }
                byte[] d = digest(file);
                if (d == null || Arrays.equals(d, lastDigest)) {
                    continue;
                }
                lastDigest = d;
                log.info("reload requested by=file-change file={}", file);
                control.reload().join();
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        } catch (RuntimeException e) {
            log.warn("config watch stopped file={} error=\"{}\"", file, e.toString());
        }
    }

    /**
     * The file's content digest, streamed: a 1.5 GB file must not be read into the heap (it was,
     * and the node died of OutOfMemoryError before the loader could refuse it; the loader now
     * refuses it unread). Not a regular file (a FIFO would block this thread forever): null, as for
     * a file that is gone; SIGHUP or POST /api/reload report why the file cannot be loaded.
     */
    private static byte[] digest(Path file) {
        try {
            if (!Files.isRegularFile(file)) {
                return null;
            }
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(file)) {
                byte[] buffer = new byte[64 * 1024];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    sha.update(buffer, 0, n);
                }
            }
            return sha.digest();
        } catch (IOException e) {
            return null; // mid-rename or deleted: wait for the next event
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
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
}
