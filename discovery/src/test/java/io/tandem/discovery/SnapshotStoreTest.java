package io.tandem.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.config.HostPort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The last good snapshot on disk: written atomically, read back, bounded, and ignored (with a WARN) when bad. */
class SnapshotStoreTest {
    private static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(SnapshotStore.class);

    @BeforeEach
    void capture() {
        logs.start();
        logger.addAppender(logs);
    }

    @AfterEach
    void release() {
        logger.detachAppender(logs);
    }

    private List<String> warnings() {
        return logs.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    private static Map<String, Set<Endpoint>> services() {
        return Map.of("orders", Set.of(new Endpoint(HostPort.of("10.0.1.7", 31001), 2, Optional.of("a"), false, true,
                "marathon:/orders/t1"), Endpoint.of(HostPort.of("fd00::7", 31002), "static")));
    }

    @Test
    void aSavedSnapshotReadsBackWhole() throws Exception {
        Instant at = Instant.parse("2026-01-02T03:04:05Z");
        try (SnapshotStore s = new SnapshotStore(dir, "zookeeper", "services")) {
            s.changed();
            assertThat(s.due()).isTrue();
            s.save(SnapshotStore.servicesJson(services()), at);
        }
        try (SnapshotStore s = new SnapshotStore(dir, "zookeeper", "services")) {
            SnapshotStore.Saved saved = s.load().orElseThrow();
            assertThat(saved.savedAt()).isEqualTo(at);
            assertThat(SnapshotStore.servicesFrom(saved.data(), new SourceStats())).isEqualTo(services());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary file left behind")
                    .containsExactly("zookeeper.json");
        }
    }

    @Test
    void saveIsRateLimitedButTheLatestSnapshotWins() throws Exception {
        try (SnapshotStore s = new SnapshotStore(dir, "marathon", "services", 1 << 20, Duration.ofHours(1))) {
            assertThat(s.due()).as("nothing changed").isFalse();
            assertThat(s.nanosUntilDue()).isEqualTo(-1);
            s.changed();
            s.save(SnapshotStore.servicesJson(Map.of("a", Set.of())), Instant.now());
            s.changed();
            assertThat(s.due()).as("within the interval").isFalse();
            assertThat(s.nanosUntilDue()).isPositive();
        }
        assertThat(Files.readString(dir.resolve("marathon.json"))).contains("\"a\"");
    }

    @Test
    void aCorruptFileIsIgnoredWithAWarning() throws Exception {
        Files.writeString(dir.resolve("zookeeper.json"), "{\"format\":\"tandem-discovery-snapshot/1\",\"sou");
        try (SnapshotStore s = new SnapshotStore(dir, "zookeeper", "services")) {
            assertThat(s.load()).isEmpty();
        }
        assertThat(warnings()).singleElement().asString().startsWith("discovery snapshot ignored source=zookeeper")
                .contains("not valid JSON");
    }

    @Test
    void anotherSourcesOrFormatsFileIsIgnoredWithAWarning() throws Exception {
        ObjectNode root = M.createObjectNode().put("format", "tandem-discovery-snapshot/1").put("source", "marathon")
                .put("kind", "marathon-apps").put("savedAt", Instant.now().toString());
        root.putObject("data");
        Files.writeString(dir.resolve("zookeeper.json"), root.toString());
        Files.writeString(dir.resolve("other.json"), "{\"format\":\"tandem-discovery-snapshot/99\"}");
        try (SnapshotStore s = new SnapshotStore(dir, "zookeeper", "services");
             SnapshotStore o = new SnapshotStore(dir, "other", "services")) {
            assertThat(s.load()).isEmpty();
            assertThat(o.load()).isEmpty();
        }
        assertThat(warnings()).hasSize(2).anySatisfy(w -> assertThat(w).contains("kind \"marathon-apps\""))
                .anySatisfy(w -> assertThat(w).contains("format \"tandem-discovery-snapshot/99\""));
    }

    @Test
    void sizeIsBoundedOnReadAndOnWrite() throws Exception {
        Files.write(dir.resolve("big.json"), new byte[4096]);
        try (SnapshotStore s = new SnapshotStore(dir, "big", "services", 2048, Duration.ZERO)) {
            assertThat(s.load()).isEmpty();
            s.changed();
            s.save(SnapshotStore.servicesJson(Map.of("x".repeat(3000), Set.of())), Instant.now());
        }
        assertThat(dir.resolve("big.json")).as("a snapshot over the bound replaces nothing stale: the old file goes")
                .doesNotExist();
        assertThat(warnings()).anySatisfy(w -> assertThat(w).contains("4096 bytes (expected at most 2048)"))
                .anySatisfy(w -> assertThat(w).startsWith("discovery snapshot not written source=big"));
    }

    @Test
    void aStateDirectoryThatDoesNotExistYetIsCreated() {
        Path nested = dir.resolve("a/b");
        try (SnapshotStore s = new SnapshotStore(nested, "zookeeper", "services")) {
            assertThat(s.load()).isEmpty();
            s.changed();
            s.save(SnapshotStore.servicesJson(services()), Instant.now());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(nested.resolve("zookeeper.json")));
        assertThat(warnings()).isEmpty();
    }
}
