package io.tandem.tests.fault;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code iptables} rules on the INPUT chain for one loopback TCP port ({@code -i lo -d 127.0.0.1}), each tagged with a comment
 * {@code tandem-test-<owner pid>-<n>} so that leftovers of a crashed test JVM can be found and
 * removed ({@link #sweep()}) without touching anyone else's rules, nor the rules of a test run
 * that is still alive.
 */
final class Iptables {
    static final String PREFIX = "tandem-test-";
    private static final AtomicInteger SEQ = new AtomicInteger();
    /** Rules installed and not yet deleted; a shutdown hook removes them if the JVM exits first. */
    private static final Set<Rule> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Rule r : LIVE) {
                try {
                    r.delete();
                } catch (IOException e) {
                    // best effort: the next run's sweep() removes it
                }
            }
        }, "iptables-cleanup"));
    }

    private Iptables() {
    }

    /** What happens to packets for the port. */
    enum Action {
        DROP(List.of("-j", "DROP")),
        RESET(List.of("-j", "REJECT", "--reject-with", "tcp-reset"));

        final List<String> jump;

        Action(List<String> jump) {
            this.jump = jump;
        }
    }

    /** An installed rule; {@link #delete()} is idempotent. */
    static final class Rule {
        private final List<String> spec;
        private final String comment;
        private boolean installed = true;

        private Rule(List<String> spec, String comment) {
            this.spec = spec;
            this.comment = comment;
        }

        String comment() {
            return comment;
        }

        synchronized void delete() throws IOException {
            if (!installed) {
                return;
            }
            List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "5", "-D", "INPUT"));
            cmd.addAll(spec);
            Result r = exec(cmd);
            if (r.code != 0 && !r.out.contains("does a matching rule exist")) {
                throw new IOException(String.join(" ", cmd) + " failed: " + r.out);
            }
            installed = false;
            LIVE.remove(this);
        }
    }

    /** Not a root check by name: the effective uid from /proc, then a harmless iptables call. */
    static String unusableBecause() {
        try {
            String status = Files.readString(Path.of("/proc/self/status"));
            String uid = status.lines().filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?");
            String[] ids = uid.substring(4).trim().split("\\s+");
            if (ids.length < 2 || !ids[1].equals("0")) {
                return "not running as root (" + uid.trim() + ")";
            }
        } catch (IOException e) {
            return "cannot read /proc/self/status: " + e.getMessage();
        }
        try {
            Result r = exec(List.of("iptables", "-w", "5", "-S", "INPUT"));
            return r.code == 0 ? null : "iptables -S INPUT failed: " + r.out.trim();
        } catch (IOException e) {
            return "iptables not available: " + e.getMessage();
        }
    }

    /** Inserts (first in INPUT) a rule for TCP packets to {@code port}. */
    static Rule insert(int port, Action action) throws IOException {
        return insert(port, action, PREFIX + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet());
    }

    /** As {@link #insert(int, Action)} with a given comment (tests of the sweep use a dead pid's). */
    static Rule insert(int port, Action action, String comment) throws IOException {
        // Loopback only: a rule can never touch real traffic that happens to use the same port number.
        List<String> spec = new ArrayList<>(List.of("-i", "lo", "-d", "127.0.0.1/32", "-p", "tcp", "-m", "tcp",
                "--dport", Integer.toString(port),
                "-m", "comment", "--comment", comment));
        spec.addAll(action.jump);
        List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "5", "-I", "INPUT"));
        cmd.addAll(spec);
        Result r = exec(cmd);
        if (r.code != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + r.out);
        }
        Rule rule = new Rule(spec, comment);
        LIVE.add(rule);
        return rule;
    }

    /**
     * Deletes every INPUT rule tagged {@code tandem-test-<pid>-...} whose pid is not a live
     * process (a test JVM that crashed or was killed before its cleanup ran). Returns how many.
     */
    static int sweep() throws IOException {
        Result list = exec(List.of("iptables", "-w", "5", "-S", "INPUT"));
        if (list.code != 0) {
            throw new IOException("iptables -S INPUT failed: " + list.out);
        }
        int removed = 0;
        for (String line : list.out.lines().toList()) {
            int at = line.indexOf("--comment " + PREFIX);
            if (!line.startsWith("-A INPUT ") || at < 0) {
                continue;
            }
            String comment = line.substring(at + "--comment ".length()).split("\\s+")[0].replace("\"", "");
            if (ownerAlive(comment)) {
                continue;
            }
            List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "5", "-D"));
            cmd.addAll(Arrays.asList(line.substring(3).trim().split("\\s+")));
            cmd.replaceAll(s -> s.replace("\"", ""));
            Result r = exec(cmd);
            if (r.code == 0) {
                removed++;
            }
        }
        return removed;
    }

    /** Comments of the {@code tandem-test-} rules now in INPUT. */
    static List<String> comments() throws IOException {
        Result list = exec(List.of("iptables", "-w", "5", "-S", "INPUT"));
        if (list.code != 0) {
            throw new IOException("iptables -S INPUT failed: " + list.out);
        }
        return list.out.lines().filter(l -> l.contains("--comment " + PREFIX))
                .map(l -> l.substring(l.indexOf("--comment ") + "--comment ".length()).split("\\s+")[0].replace("\"", ""))
                .toList();
    }

    private static boolean ownerAlive(String comment) {
        String rest = comment.substring(PREFIX.length());
        int dash = rest.indexOf('-');
        try {
            long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return false; // not ours in a form we know: a leftover of an older scheme, remove it
        }
    }

    private record Result(int code, String out) {
    }

    private static Result exec(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within 15 s");
            }
            return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        }
    }
}
