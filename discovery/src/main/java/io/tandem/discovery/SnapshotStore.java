package io.tandem.discovery;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.config.HostPort;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A source's last good snapshot on disk ({@code <dir>/<source>.json}), so a node that starts
 * while its registry is unreachable serves the last known membership (marked stale) instead of
 * nothing — what Marathon-LB gets from its last HAProxy config file.
 *
 * <p>Writes are atomic: the JSON goes to a temporary file in the same directory, which is
 * fsynced, renamed over the old one and the directory fsynced, so a crash leaves the old file or
 * the new one, never half of one. They run on one writer thread, latest wins, at most one per
 * {@code minInterval} (the source asks {@link #due()} and builds the JSON on its own thread, so
 * the snapshot is consistent). The file is bounded: a snapshot larger than {@code maxBytes} is not
 * written (and the older, now wrong, file is removed), and a file larger than that is not read.
 * A file that cannot be read, is corrupt or belongs to another source or format is ignored with
 * a WARN: the node then starts as it would without one.
 *
 * <p>Format: {@code {"format":"tandem-discovery-snapshot/1","source":..,"kind":..,"savedAt":..,"data":..}};
 * {@code data} is the source's own ({@link #servicesJson} for plain service maps).
 */
public final class SnapshotStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SnapshotStore.class);

    public static final String FORMAT = "tandem-discovery-snapshot/1";
    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    public static final Duration DEFAULT_MIN_INTERVAL = Duration.ofSeconds(1);

    /** A snapshot read back: the source's data and when it was saved. */
    public record Saved(JsonNode data, Instant savedAt) {
        public Saved {
            requireNonNull(data, "data");
            requireNonNull(savedAt, "savedAt");
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path dir;
    private final Path file;
    private final String source;
    private final String kind;
    private final long maxBytes;
    private final long minIntervalNanos;
    private final ExecutorService writer;
    private final AtomicReference<byte[]> next = new AtomicReference<>();
    private final AtomicBoolean writeQueued = new AtomicBoolean();
    private volatile boolean dirty;
    private volatile long lastSaveNanos;
    private volatile boolean everSaved;

    /**
     * @param source the source's name (the file name; unique per node)
     * @param kind   what {@code data} holds, checked on read so one source never reads another's
     */
    public SnapshotStore(Path dir, String source, String kind, long maxBytes, Duration minInterval) {
        this.dir = requireNonNull(dir, "dir");
        this.source = requireNonNull(source, "source");
        this.kind = requireNonNull(kind, "kind");
        if (maxBytes < 1024) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected >= 1024)");
        }
        this.maxBytes = maxBytes;
        this.minIntervalNanos = requireNonNull(minInterval, "minInterval").toNanos();
        this.file = dir.resolve(source.replaceAll("[^A-Za-z0-9._-]", "_") + ".json");
        this.writer = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("discovery-snapshot-" + source).factory());
    }

    public SnapshotStore(Path dir, String source, String kind) {
        this(dir, source, kind, DEFAULT_MAX_BYTES, DEFAULT_MIN_INTERVAL);
    }

    public Path file() {
        return file;
    }

    /** The saved snapshot, if a valid one is there. Never throws: problems are a WARN and an empty answer. */
    public Optional<Saved> load() {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return ignored("cannot read: " + e);
        }
        if (size > maxBytes) {
            return ignored(size + " bytes (expected at most " + maxBytes + ")");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readAllBytes(file));
        } catch (JacksonException e) {
            return ignored("not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            return ignored("cannot read: " + e);
        }
        if (root == null || !root.isObject()) {
            return ignored("not a JSON object");
        }
        if (!FORMAT.equals(root.path("format").asText(null))) {
            return ignored("format " + root.path("format") + " (expected \"" + FORMAT + "\")");
        }
        if (!source.equals(root.path("source").asText(null)) || !kind.equals(root.path("kind").asText(null))) {
            return ignored("source " + root.path("source") + " kind " + root.path("kind") + " (expected \"" + source
                    + "\" and \"" + kind + "\")");
        }
        Instant savedAt;
        try {
            savedAt = Instant.parse(root.path("savedAt").asText(""));
        } catch (DateTimeParseException e) {
            return ignored("savedAt " + root.path("savedAt") + " (expected an ISO-8601 instant)");
        }
        JsonNode data = root.get("data");
        if (data == null || data.isNull()) {
            return ignored("no data");
        }
        log.info("discovery snapshot read source={} file={} saved_at={} bytes={}", source, file, savedAt, size);
        return Optional.of(new Saved(data, savedAt));
    }

    private Optional<Saved> ignored(String reason) {
        log.warn("discovery snapshot ignored source={} file={} reason=\"{}\"", source, file, reason);
        return Optional.empty();
    }

    /** The source's membership changed: a save is due once {@code minInterval} has passed since the last one. */
    public void changed() {
        dirty = true;
    }

    /** Whether the source should {@link #save} now. */
    public boolean due() {
        return dirty && (!everSaved || System.nanoTime() - lastSaveNanos >= minIntervalNanos);
    }

    /** Nanoseconds until {@link #due()} turns true (0 if it is), or -1 when nothing changed. */
    public long nanosUntilDue() {
        if (!dirty) {
            return -1;
        }
        return everSaved ? Math.max(0, lastSaveNanos + minIntervalNanos - System.nanoTime()) : 0;
    }

    /** Serialises {@code data} here and hands it to the writer thread (latest wins). */
    public void save(JsonNode data, Instant at) {
        requireNonNull(data, "data");
        dirty = false;
        everSaved = true;
        lastSaveNanos = System.nanoTime();
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("source", source);
        root.put("kind", kind);
        root.put("savedAt", at.toString());
        root.set("data", data);
        byte[] bytes;
        try {
            bytes = MAPPER.writeValueAsBytes(root);
        } catch (IOException e) {
            log.warn("discovery snapshot not written source={} reason=\"{}\"", source, e.toString());
            return;
        }
        next.set(bytes);
        if (writeQueued.compareAndSet(false, true)) {
            try {
                writer.execute(this::drain);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                writeQueued.set(false); // closed
            }
        }
    }

    private void drain() {
        writeQueued.set(false);
        byte[] bytes = next.getAndSet(null);
        if (bytes == null) {
            return;
        }
        if (bytes.length > maxBytes) {
            log.warn("discovery snapshot not written source={} file={} reason=\"{} bytes (expected at most {}); the "
                    + "older file is removed so a restart does not serve it\"", source, file, bytes.length, maxBytes);
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                log.warn("discovery snapshot not removed source={} file={} reason=\"{}\"", source, file, e.toString());
            }
            return;
        }
        try {
            writeAtomically(bytes);
            log.debug("discovery snapshot written source={} file={} bytes={}", source, file, bytes.length);
        } catch (IOException e) {
            log.warn("discovery snapshot not written source={} file={} reason=\"{}\"", source, file, e.toString());
        }
    }

    private void writeAtomically(byte[] bytes) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true); // the rename itself survives a crash
        } catch (IOException e) {
            log.debug("directory fsync unavailable dir={} error=\"{}\"", dir, e.toString());
        }
    }

    /** Waits (up to 5 s) for the last handed-over snapshot to be on disk, then stops the writer. */
    @Override
    public void close() {
        writer.shutdown();
        try {
            if (!writer.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("discovery snapshot writer did not finish source={}", source);
                writer.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            writer.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- service maps

    /** {@code {"<service>":[{"address":"h:p","weight":1,...}]}}: a service map as snapshot data. */
    public static JsonNode servicesJson(Map<String, Set<Endpoint>> services) {
        ObjectNode out = MAPPER.createObjectNode();
        for (var e : services.entrySet()) {
            var arr = out.putArray(e.getKey());
            for (Endpoint ep : e.getValue()) {
                ObjectNode o = arr.addObject();
                o.put("address", ep.address().toString());
                o.put("weight", ep.weight());
                ep.locality().region().ifPresent(r -> o.put("region", r));
                ep.locality().zone().ifPresent(z -> o.put("zone", z));
                ep.locality().rack().ifPresent(r -> o.put("rack", r));
                o.put("healthyInSource", ep.healthyInSource());
                o.put("draining", ep.draining());
                o.put("origin", ep.origin());
            }
        }
        return out;
    }

    /**
     * Reads {@link #servicesJson} back; an entry that does not parse is skipped (and counted in
     * {@code stats} as {@code snapshot}).
     */
    public static Map<String, Set<Endpoint>> servicesFrom(JsonNode data, SourceStats stats) {
        Map<String, Set<Endpoint>> out = new LinkedHashMap<>();
        if (data == null || !data.isObject()) {
            throw new IllegalArgumentException("data: " + (data == null ? "missing" : data.getNodeType())
                    + " (expected an object of services)");
        }
        for (Map.Entry<String, JsonNode> e : data.properties()) {
            Set<Endpoint> eps = new LinkedHashSet<>();
            if (e.getValue().isArray()) {
                for (JsonNode o : e.getValue()) {
                    try {
                        eps.add(new Endpoint(HostPort.parse(o.path("address").asText("")), o.path("weight").asInt(1),
                                io.tandem.config.Locality.of(o.path("region").textValue(),
                                        o.path("zone").textValue(), o.path("rack").textValue()),
                                o.path("healthyInSource").asBoolean(true), o.path("draining").asBoolean(false),
                                o.path("origin").asText("snapshot")));
                    } catch (IllegalArgumentException ex) {
                        stats.dropped("snapshot");
                    }
                }
            }
            out.put(e.getKey(), Set.copyOf(eps));
        }
        return out;
    }
}
