package io.tandem.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Collects every {@link ConfigError} of one load. Each error carries its position in the
 * document (field and item indices along its path), so the final list reads top to bottom
 * however the walker happened to visit the tree.
 */
final class Problems {
    /** Position of a key that is absent: after everything that is present in its mapping. */
    static final int ABSENT = Integer.MAX_VALUE;

    /**
     * Errors shown per report. More are counted, not listed: a file of 300,000 unknown keys must
     * not become 300,000 lines of output, a reload log line or a 422 body of many megabytes.
     */
    static final int MAX_REPORTED = 100;

    private record Entry(int[] position, ConfigError error) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private int unshown;

    /** Records an error; a value at a secret path is masked here, so no caller can forget to. */
    void add(int[] position, String path, String value, String expected) {
        entries.add(new Entry(position, new ConfigError(path, Render.shown(path, value), expected)));
    }

    /**
     * Counts an error that can never be among the first {@link #MAX_REPORTED} of the report, because
     * at least that many recorded errors come before it in the document (the caller knows).
     */
    void addUnshown() {
        unshown++;
    }

    int count() {
        return entries.size() + unshown;
    }

    /**
     * In document order (errors at the same position keep the order they were found in), the first
     * {@link #MAX_REPORTED}, then one line counting the rest.
     */
    List<ConfigError> report(String sourceName) {
        List<ConfigError> sorted = entries.stream()
                .sorted(Comparator.comparing(Entry::position, Arrays::compare))
                .map(Entry::error)
                .toList();
        if (count() <= MAX_REPORTED) {
            return sorted;
        }
        List<ConfigError> shown = new ArrayList<>(sorted.subList(0, MAX_REPORTED));
        shown.add(new ConfigError(sourceName, (count() - MAX_REPORTED) + " more errors not shown",
                "at most " + MAX_REPORTED + " errors per report; fix these first"));
        return shown;
    }

    static int[] child(int[] parent, int index) {
        int[] p = Arrays.copyOf(parent, parent.length + 1);
        p[parent.length] = index;
        return p;
    }
}
