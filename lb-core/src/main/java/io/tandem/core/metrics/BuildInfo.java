package io.tandem.core.metrics;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What this build is: the project version and the git revision it was built from, as the build
 * wrote them into {@value #RESOURCE} (the git-commit-id Maven plugin, at {@code initialize}).
 * Exposed as {@code tandem_build_info{version,revision} 1} and meant for {@code tandem --version}.
 * A build from a tree without git history says {@code unknown} rather than failing.
 *
 * @param version  the Maven project version, e.g. {@code 0.1.0-SNAPSHOT}
 * @param revision the abbreviated commit id, with {@code -dirty} when the tree had uncommitted changes
 */
public record BuildInfo(String version, String revision) {
    static final String RESOURCE = "/io/tandem/core/build-info.properties";
    public static final String UNKNOWN = "unknown";

    public BuildInfo {
        requireNonNull(version, "version");
        requireNonNull(revision, "revision");
    }

    private static final BuildInfo CURRENT = read();

    /** This build's. */
    public static BuildInfo current() {
        return CURRENT;
    }

    static BuildInfo read() {
        try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return new BuildInfo(UNKNOWN, UNKNOWN);
            }
            Properties p = new Properties();
            p.load(in);
            return of(p);
        } catch (IOException e) {
            return new BuildInfo(UNKNOWN, UNKNOWN);
        }
    }

    /** From the plugin's properties; a value the plugin could not fill in (no git) is {@code unknown}. */
    static BuildInfo of(Properties p) {
        String version = known(p.getProperty("git.build.version"));
        String revision = known(p.getProperty("git.commit.id.abbrev"));
        if (!revision.equals(UNKNOWN) && "true".equals(p.getProperty("git.dirty"))) {
            revision += "-dirty";
        }
        return new BuildInfo(version, revision);
    }

    private static String known(String v) {
        return v == null || v.isBlank() || v.contains("${") ? UNKNOWN : v.strip();
    }
}
