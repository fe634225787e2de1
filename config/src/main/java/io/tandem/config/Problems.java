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

    private record Entry(int[] position, ConfigError error) {
    }

    private final List<Entry> entries = new ArrayList<>();

    void add(int[] position, String path, String value, String expected) {
        entries.add(new Entry(position, new ConfigError(path, value, expected)));
    }

    int count() {
        return entries.size();
    }

    /** In document order; errors at the same position keep the order they were found in. */
    List<ConfigError> sorted() {
        return entries.stream()
                .sorted(Comparator.comparing(Entry::position, Arrays::compare))
                .map(Entry::error)
                .toList();
    }

    static int[] child(int[] parent, int index) {
        int[] p = Arrays.copyOf(parent, parent.length + 1);
        p[parent.length] = index;
        return p;
    }
}
