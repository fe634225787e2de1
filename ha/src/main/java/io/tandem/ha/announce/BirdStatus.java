package io.tandem.ha.announce;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What BIRD says about itself, parsed from {@code birdc} output: each BGP session's state, each BFD
 * session's state, and the prefixes exported to each session. Lenient by design: a line it does not
 * understand is skipped, never an error (BIRD's human output is not a stable format), and the
 * reader bounds what it reads ({@link Bird#MAX_OUTPUT}).
 */
public record BirdStatus(boolean running, List<Session> sessions, List<BfdSession> bfd) {
    private static final Pattern WS = Pattern.compile("\\s+");
    private static final Pattern IP = Pattern.compile("[0-9a-fA-F:.]+");

    public static final BirdStatus DOWN = new BirdStatus(false, List.of(), List.of());

    public BirdStatus {
        sessions = List.copyOf(sessions);
        bfd = List.copyOf(bfd);
    }

    /**
     * One BGP session: BIRD's protocol name, the neighbor address, the protocol state ({@code up},
     * {@code start}, ...), the BGP state ({@code Established}, {@code Active}, ...), BIRD's last error
     * text, and the prefixes exported to it.
     */
    public record Session(String name, String neighbor, String state, String bgpState, String info,
                          Set<String> exported) {
        public Session {
            exported = Set.copyOf(exported);
        }

        public boolean established() {
            return "Established".equals(bgpState);
        }
    }

    /** One BFD session: the neighbor address, the interface and the state ({@code Up}, {@code Down}, {@code Init}). */
    public record BfdSession(String neighbor, String iface, String state) {
        public boolean up() {
            return "Up".equals(state);
        }
    }

    /** The prefixes exported to at least one established session. */
    public Set<String> announced() {
        Set<String> out = new TreeSet<>();
        sessions.stream().filter(Session::established).forEach(s -> out.addAll(s.exported()));
        return out;
    }

    /** Protocol name → [state, bgp state, info] of every BGP row of {@code show protocols}. */
    static Map<String, String[]> parseProtocols(String output) {
        Map<String, String[]> out = new java.util.LinkedHashMap<>();
        for (String line : output.split("\n")) {
            String[] f = WS.split(line.strip(), 6);
            if (f.length >= 5 && f[1].equals("BGP")) {
                String info = f.length > 5 ? f[5].strip() : "";
                String bgpState = info.isEmpty() ? "" : WS.split(info, 2)[0];
                String rest = info.length() > bgpState.length() ? info.substring(bgpState.length()).strip() : "";
                out.put(f[0], new String[] {f[3], bgpState, rest});
            }
        }
        return out;
    }

    /** Each session row of {@code show bfd sessions}. */
    static List<BfdSession> parseBfd(String output) {
        List<BfdSession> out = new ArrayList<>();
        for (String line : output.split("\n")) {
            String[] f = WS.split(line.strip());
            if (f.length >= 3 && IP.matcher(f[0]).matches() && (f[0].contains(".") || f[0].contains(":"))) {
                out.add(new BfdSession(f[0], f[1], f[2]));
            }
        }
        return out;
    }

    /** The prefixes of {@code show route export P}: the unindented lines that start with a prefix. */
    static Set<String> parseRoutes(String output) {
        Set<String> out = new TreeSet<>();
        for (String line : output.split("\n")) {
            if (line.isEmpty() || Character.isWhitespace(line.charAt(0))) {
                continue;
            }
            String first = WS.split(line, 2)[0];
            int slash = first.indexOf('/');
            if (slash > 0 && IP.matcher(first.substring(0, slash)).matches()) {
                out.add(first);
            }
        }
        return out;
    }
}
