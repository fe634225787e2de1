package io.tandem.config;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** "Did you mean" for misspelt keys and enum values (Levenshtein distance at most 2). */
final class Suggestions {
    private static final int MAX_DISTANCE = 2;

    private Suggestions() {
    }

    /** The closest candidate, earliest on a tie; empty when none is close enough to help. */
    static Optional<String> closest(String input, List<String> candidates) {
        String in = input.toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            if (Math.abs(candidate.length() - in.length()) > MAX_DISTANCE) {
                continue; // the distance is at least the difference in length: too far, and cheap to see
            }
            int d = distance(in, candidate.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        // Short words are all close to each other ("PUT" is 2 edits from "GET"): a suggestion must
        // also keep at least half of what was typed, or it is noise rather than help.
        if (best == null || bestDistance > MAX_DISTANCE || bestDistance * 2 > in.length()) {
            return Optional.empty();
        }
        return Optional.of(best);
    }

    /** " ...; did you mean "x"?" or nothing, to append to an expectation. */
    static String hint(String input, List<String> candidates) {
        return closest(input, candidates).map(s -> "; did you mean \"" + s + "\"?").orElse("");
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
