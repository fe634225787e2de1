package io.tandem.health.check;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One line from an agent (HAProxy {@code agent-check}), parsed the way HAProxy 3.x parses it
 * ({@code doc/configuration.txt}, "agent-check"; {@code src/tcpcheck.c},
 * {@code tcpcheck_agent_expect_reply}; {@code src/server.c}, {@code server_parse_weight_change_request}):
 *
 * <ul>
 *   <li>words are separated by spaces, tabs or commas, in any order, matched ignoring case; when
 *       several of one category appear, the last one wins;</li>
 *   <li>health: {@code up}, or {@code down} / {@code fail} / {@code stopped}, optionally followed by a
 *       description after a {@code #} at the start of a word (kept only when a health word is given);</li>
 *   <li>admin state: {@code ready}, {@code drain}, {@code maint};</li>
 *   <li>weight: a word that starts with a digit and contains {@code %} ({@code 75%}), or
 *       {@code weight:75%}; the number must end right at the {@code %}; above 25600 % it is clamped
 *       to 25600 %. {@code weight:N} without {@code %} is an absolute weight, 0..256 in HAProxy;</li>
 *   <li>{@code maxconn:N} is understood by HAProxy; Tandem has no per-backend connection limit to set
 *       from an agent, so it is reported as ignored;</li>
 *   <li>any other word is a problem (HAProxy: "agent reports an error"); the words that were
 *       understood still apply.</li>
 * </ul>
 * Pure: no I/O, no clock.
 *
 * @param health      the last health word, if any
 * @param admin       the last admin word, if any
 * @param weight      the last weight, if any (and valid)
 * @param description the text after {@code #} when a health word was given, else empty
 * @param problems    words not understood or not applied, in order, each saying why
 */
public record AgentReply(Optional<Health> health, Optional<Admin> admin, Optional<Weight> weight, String description,
                         List<String> problems) {

    /** HAProxy's relative-weight ceiling (it avoids an overflow), in percent. */
    public static final int MAX_PERCENT = 25600;
    /** HAProxy's absolute-weight ceiling for {@code weight:N}. */
    public static final int MAX_ABSOLUTE = 256;

    /** The agent's word for the backend's operating state. */
    public enum Health {
        UP, DOWN, FAIL, STOPPED;

        public boolean down() {
            return this != UP;
        }

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The agent's word for the backend's administrative state. */
    public enum Admin {
        READY, DRAIN, MAINT;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A weight the agent asks for: a percentage of the configured weight, or an absolute weight. */
    public record Weight(int value, boolean percent) {
        public Weight {
            if (value < 0) {
                throw new IllegalArgumentException("value: " + value + " (expected >= 0)");
            }
        }

        /** The weight to use for a backend configured with {@code configured}, capped at {@code max}. */
        public int apply(int configured, int max) {
            long w = percent ? (long) configured * value / 100 : value;
            return (int) Math.min(max, w);
        }

        @Override
        public String toString() {
            return percent ? value + "%" : "weight:" + value;
        }
    }

    public AgentReply {
        requireNonNull(health, "health");
        requireNonNull(admin, "admin");
        requireNonNull(weight, "weight");
        requireNonNull(description, "description");
        problems = List.copyOf(requireNonNull(problems, "problems"));
    }

    /** Whether the line said anything that changes a backend. */
    public boolean empty() {
        return health.isEmpty() && admin.isEmpty() && weight.isEmpty();
    }

    /**
     * Parses one line, without its {@code \r} or {@code \n} (the caller cuts the line at the first of
     * them). Never throws on content.
     */
    public static AgentReply parse(String line) {
        requireNonNull(line, "line");
        Health health = null;
        Admin admin = null;
        Weight weight = null;
        String description = "";
        List<String> problems = new ArrayList<>();
        int i = 0;
        int n = line.length();
        while (i < n) {
            char c = line.charAt(i);
            if (c == ' ' || c == '\t' || c == ',') {
                i++;
                continue;
            }
            if (c == '#') {
                description = line.substring(i + 1).strip();
                break;
            }
            int end = i + 1;
            while (end < n && line.charAt(end) != ' ' && line.charAt(end) != '\t' && line.charAt(end) != ',') {
                end++;
            }
            String word = line.substring(i, end);
            String lower = word.toLowerCase(Locale.ROOT);
            i = end;
            switch (lower) {
                case "up" -> health = Health.UP;
                case "down" -> health = Health.DOWN;
                case "fail" -> health = Health.FAIL;
                case "stopped" -> health = Health.STOPPED;
                case "ready" -> admin = Admin.READY;
                case "drain" -> admin = Admin.DRAIN;
                case "maint" -> admin = Admin.MAINT;
                default -> {
                    if (Character.isDigit(word.charAt(0)) && word.indexOf('%') >= 0) {
                        Weight w = weight(word, word, problems);
                        weight = w != null ? w : weight;
                    } else if (lower.startsWith("weight:")) {
                        Weight w = weight(word, word.substring("weight:".length()), problems);
                        weight = w != null ? w : weight;
                    } else if (lower.startsWith("maxconn:")) {
                        problems.add(quote(word) + " ignored (Tandem takes no connection limit from an agent)");
                    } else {
                        problems.add(quote(word) + " (expected up, down, fail, stopped, ready, drain, maint, a "
                                + "percentage such as 75% or weight:N)");
                    }
                }
            }
        }
        if (health == null) {
            description = ""; // HAProxy keeps the description only with a health word
        }
        return new AgentReply(Optional.ofNullable(health), Optional.ofNullable(admin), Optional.ofNullable(weight),
                description, problems);
    }

    /** {@code server_parse_weight_change_request}: digits, then {@code %} and nothing else, or digits alone. */
    private static Weight weight(String word, String value, List<String> problems) {
        int d = 0;
        while (d < value.length() && Character.isDigit(value.charAt(d)) && value.charAt(d) < 128) {
            d++;
        }
        if (d == 0) {
            problems.add(quote(word) + " (expected a weight such as 75% or weight:10)");
            return null;
        }
        String rest = value.substring(d);
        long v = parseCapped(value.substring(0, d));
        if (rest.equals("%")) {
            return new Weight((int) Math.min(v, MAX_PERCENT), true);
        }
        if (!rest.isEmpty()) {
            problems.add(quote(word) + " (expected a weight such as 75% or weight:10: trailing garbage)");
            return null;
        }
        if (v > MAX_ABSOLUTE) {
            problems.add(quote(word) + " (expected an absolute weight 0.." + MAX_ABSOLUTE + ")");
            return null;
        }
        return new Weight((int) v, false);
    }

    private static long parseCapped(String digits) {
        long v = 0;
        for (int k = 0; k < digits.length(); k++) {
            v = Math.min(Integer.MAX_VALUE, v * 10 + (digits.charAt(k) - '0'));
        }
        return v;
    }

    private static String quote(String word) {
        return Probe.quote(word, 40);
    }
}
