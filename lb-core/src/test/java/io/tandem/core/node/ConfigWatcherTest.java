package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the watcher resolves the config path link by link, and what it watches for, on real symlinks. */
class ConfigWatcherTest {
    @TempDir
    Path tmp;

    @Test
    void theConfigMapLayoutIsFollowedThroughBothLinksAndEachDirectoryIsWatchedForItsNames() throws Exception {
        Path dir = tmp.toRealPath();
        Path data = Files.createDirectory(dir.resolve("..2026_12_07_10_00_00.1"));
        Files.writeString(data.resolve("tandem.yaml"), "vips: []\n");
        Files.createSymbolicLink(dir.resolve("..data"), data.getFileName());
        Files.createSymbolicLink(dir.resolve("tandem.yaml"), Path.of("..data", "tandem.yaml"));

        ConfigWatcher.Chain c = ConfigWatcher.Chain.resolve(dir.resolve("tandem.yaml"));
        assertThat(c.real()).isEqualTo(data.resolve("tandem.yaml"));
        assertThat(c.links()).containsExactly(dir.resolve("tandem.yaml"), dir.resolve("..data"));
        assertThat(c.names()).containsOnlyKeys(dir, data);
        assertThat(c.names().get(dir)).isEqualTo(Set.of(Path.of("tandem.yaml"), Path.of("..data")));
        assertThat(c.names().get(data)).isEqualTo(Set.of(Path.of("tandem.yaml")));
    }

    @Test
    void absoluteAndParentRelativeLinksAndADirectoryLinkOnTheWayAreFollowed() throws Exception {
        Path root = tmp.toRealPath();
        Path real = Files.createDirectories(root.resolve("srv/v2"));
        Files.writeString(real.resolve("lb.yaml"), "vips: []\n");
        Files.createDirectories(root.resolve("etc/tandem"));
        Files.createSymbolicLink(root.resolve("etc/tandem/tandem.yaml"), Path.of("../../srv/current/lb.yaml"));
        Files.createSymbolicLink(root.resolve("srv/current"), real); // absolute

        ConfigWatcher.Chain c = ConfigWatcher.Chain.resolve(root.resolve("etc/tandem/tandem.yaml"));
        assertThat(c.real()).isEqualTo(real.resolve("lb.yaml"));
        assertThat(c.names()).containsOnlyKeys(root.resolve("etc/tandem"), root.resolve("srv"), real);
    }

    @Test
    void aMissingFileIsWatchedForInItsDirectoryAndALinkLoopEnds() throws Exception {
        Path dir = tmp.toRealPath();
        ConfigWatcher.Chain missing = ConfigWatcher.Chain.resolve(dir.resolve("gone/tandem.yaml"));
        assertThat(missing.real()).isEqualTo(dir.resolve("gone/tandem.yaml"));
        assertThat(missing.names()).containsOnlyKeys(dir);
        assertThat(missing.names().get(dir)).containsExactly(Path.of("gone"));

        Files.createSymbolicLink(dir.resolve("x"), Path.of("y"));
        Files.createSymbolicLink(dir.resolve("y"), Path.of("x"));
        ConfigWatcher.Chain loop = ConfigWatcher.Chain.resolve(dir.resolve("x"));
        assertThat(loop.links().size()).isLessThanOrEqualTo(41);
        assertThat(ConfigWatcher.Snapshot.of(loop.real()).readable()).isFalse();
    }

    @Test
    void aFifoIsNotReadAndATouchKeepsTheContent() throws Exception {
        Path dir = tmp.toRealPath();
        Path fifo = dir.resolve("fifo.yaml");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(p.waitFor()).isZero();
        ConfigWatcher.Snapshot s = ConfigWatcher.Snapshot.of(fifo); // would block for ever if it read the FIFO
        assertThat(s.readable()).isFalse();
        assertThat(s.problem()).isEqualTo("not a regular file");

        Path f = Files.writeString(dir.resolve("t.yaml"), "vips: []\n");
        ConfigWatcher.Snapshot before = ConfigWatcher.Snapshot.of(f);
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(0));
        ConfigWatcher.Snapshot touched = ConfigWatcher.Snapshot.of(f);
        assertThat(touched).isNotEqualTo(before);
        assertThat(touched.sameContent(before)).isTrue();
        Files.writeString(f, "vips: [ ]\n");
        assertThat(ConfigWatcher.Snapshot.of(f).sameContent(before)).isFalse();
    }
}
