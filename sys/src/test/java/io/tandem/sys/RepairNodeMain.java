package io.tandem.sys;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The taking-over node of {@link ConnectionSurvivalIT}, a process of its own (run inside a
 * namespace with {@code ip netns exec}): restores connections from record files, all frozen
 * first, then lifts the RST hold-back, resumes them and (optionally) checks the peers' answers.
 * It echoes on every restored socket, or with {@code --pair} (two records: a proxied pair, the
 * client side then the backend side) relays between the two, as the proxy would. Reports on stdout, one
 * {@code key=value} line per step.
 *
 * <p>Arguments: {@code <record file>... [--check [--probe-once] [--within <seconds, 3>]] [--wait] [--pair] [--lift <nft table>]}
 * ({@code --probe-once}: the check relies on the resume's window probe alone, as before {@link RestoreCheck#REPROBE}).
 */
public final class RepairNodeMain {
    private RepairNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        List<Path> records = new ArrayList<>();
        boolean check = false;
        boolean pair = false;
        boolean once = false;
        boolean wait = false;
        Duration within = Duration.ofSeconds(3);
        String lift = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--check")) {
                check = true;
            } else if (args[i].equals("--within")) {
                within = Duration.ofSeconds(Long.parseLong(args[++i]));
            } else if (args[i].equals("--wait")) {
                wait = true;
            } else if (args[i].equals("--probe-once")) {
                once = true;
            } else if (args[i].equals("--pair")) {
                pair = true;
            } else if (args[i].equals("--lift")) {
                lift = args[++i];
            } else {
                records.add(Path.of(args[i]));
            }
        }
        try (TcpRepair repair = TcpRepair.open(); RestoreCheck checker = check ? RestoreCheck.open() : null;
                RawTcp raw = new RawTcp()) {
            if (wait) { // started ahead (a JVM's start-up is no part of what is measured): go on a line on stdin
                say("ready");
                new java.io.BufferedReader(new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
                        .readLine();
            }
            List<TcpState> states = new ArrayList<>();
            long bytes = 0;
            for (Path p : records) {
                // Aged by the time since the record was written (the file's mtime: one clock here).
                long age = Math.max(0, System.currentTimeMillis() - Files.getLastModifiedTime(p).toMillis());
                states.add(TcpState.decode(Files.readAllBytes(p)).aged(age));
                if (records.size() <= 2) {
                    say("aged ms=" + age + " ts=" + Integer.toUnsignedString(states.getLast().timestamp()));
                }
                bytes += Files.size(p);
            }
            long c0 = repair.calls();
            long t0 = System.nanoTime();
            int[] fds = new int[states.size()];
            for (int i = 0; i < fds.length; i++) {
                fds[i] = repair.restore(states.get(i));
            }
            long t1 = System.nanoTime();
            if (lift != null) { // before resuming: the peers' answers to the window probes must get in
                Process p = new ProcessBuilder("nft", "delete", "table", "inet", lift).inheritIO().start();
                say("lifted table=" + lift + " exit=" + p.waitFor());
            }
            long t2 = System.nanoTime();
            for (int i = 0; i < fds.length; i++) {
                repair.resume(fds[i], states.get(i));
            }
            long t3 = System.nanoTime();
            say("restored connections=" + fds.length + " us=" + ((t1 - t0) + (t3 - t2)) / 1000 + " syscalls="
                    + (repair.calls() - c0) + " record_bytes=" + bytes);
            if (checker != null) {
                List<RestoreCheck.Outcome> outcomes = once ? checker.check(states, within)
                        : checker.check(states, within, i -> repair.probe(fds[i]));
                StringBuilder line = new StringBuilder("verdict=");
                boolean bad = false;
                for (int i = 0; i < outcomes.size(); i++) {
                    RestoreCheck.Outcome o = outcomes.get(i);
                    if (i < 4) {
                        line.append(o.verdict()).append(i == 3 && outcomes.size() > 4 ? " ... " : " ");
                    }
                    bad |= o.verdict() == RestoreCheck.Verdict.MISMATCH || o.verdict() == RestoreCheck.Verdict.GONE;
                }
                say(line.append("reason=\"").append(outcomes.getFirst().reason()).append('"').toString());
                java.util.Map<RestoreCheck.Verdict, Integer> counts = new java.util.EnumMap<>(RestoreCheck.Verdict.class);
                outcomes.forEach(o -> counts.merge(o.verdict(), 1, Integer::sum));
                say("verdicts " + counts);
                if (bad) { // every connection of the batch ends cleanly: a pair is useless with one side gone
                    for (int i = 0; i < fds.length; i++) {
                        RestoreCheck.Outcome o = outcomes.get(i);
                        switch (o.verdict()) {
                            case MISMATCH -> {
                                repair.discard(fds[i]);
                                checker.resetPeer(states.get(i), o.peerAck());
                            }
                            case GONE -> repair.discard(fds[i]);
                            default -> raw.abort(fds[i]); // in step with its peer: its own RST is accepted
                        }
                    }
                    say("reset");
                    return;
                }
            }
            if (pair) {
                relay(raw, new int[][] {{fds[0], fds[1]}, {fds[1], fds[0]}});
            } else {
                int[][] echo = new int[fds.length][];
                for (int i = 0; i < fds.length; i++) {
                    echo[i] = new int[] {fds[i], fds[i]};
                }
                relay(raw, echo);
            }
        } catch (Exception e) {
            say("error " + e);
            System.exit(2);
        }
    }

    /** Copies each direction {from, to} (from = to: an echo) until a source ends, for at most a minute. */
    private static void relay(RawTcp raw, int[][] directions) throws Exception {
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < until) {
            boolean moved = false;
            for (int[] d : directions) {
                int n = raw.peek(d[0]);
                if (n < 0) {
                    say("eof");
                    return;
                }
                if (n > 0) {
                    raw.writeAll(d[1], raw.readExactly(d[0], n, Duration.ofSeconds(5)), Duration.ofSeconds(5));
                    moved = true;
                }
            }
            if (!moved) {
                Thread.sleep(1);
            }
        }
        say("timeout");
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
