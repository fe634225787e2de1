package io.tandem.sys;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The taking-over node of {@link ConnectionSurvivalIT}, a process of its own (run inside a
 * namespace with {@code ip netns exec}): restores the connection from a record file, optionally
 * lifts the RST hold-back and checks the peer's answer, then echoes on the restored socket until
 * the peer closes. Reports on stdout, one {@code key=value} line per step.
 *
 * <p>Arguments: {@code <record file> [--check] [--lift <nft table>]}.
 */
public final class RepairNodeMain {
    private RepairNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        Path record = Path.of(args[0]);
        boolean check = false;
        String lift = null;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--check")) {
                check = true;
            } else if (args[i].equals("--lift")) {
                lift = args[++i];
            }
        }
        try (TcpRepair repair = TcpRepair.open(); RestoreCheck checker = check ? RestoreCheck.open() : null;
                RawTcp raw = new RawTcp()) {
            TcpState state = TcpState.decode(Files.readAllBytes(record));
            long c0 = repair.calls();
            long t0 = System.nanoTime();
            int fd = repair.restore(state);
            long t1 = System.nanoTime();
            long c1 = repair.calls();
            if (lift != null) { // before resuming: the peer's answer to the window probe must get in
                Process p = new ProcessBuilder("nft", "delete", "table", "inet", lift).inheritIO().start();
                say("lifted table=" + lift + " exit=" + p.waitFor());
            }
            long t2 = System.nanoTime();
            repair.resume(fd, state);
            long t3 = System.nanoTime();
            say("restored fd=" + fd + " us=" + ((t1 - t0) + (t3 - t2)) / 1000 + " syscalls="
                    + (c1 - c0 + repair.calls() - c1) + " record_bytes=" + Files.size(record));
            if (checker != null) {
                RestoreCheck.Outcome o = checker.check(state, Duration.ofSeconds(3));
                say("verdict=" + o.verdict() + " reason=\"" + o.reason() + "\"");
                if (o.verdict() == RestoreCheck.Verdict.MISMATCH) {
                    repair.discard(fd);
                    checker.resetPeer(state, o.peerAck());
                    say("reset peer_seq=" + Integer.toUnsignedString(o.peerAck()));
                    return;
                }
                if (o.verdict() == RestoreCheck.Verdict.GONE) {
                    repair.discard(fd);
                    say("gone");
                    return;
                }
            }
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            byte[] chunk = new byte[1];
            while (System.nanoTime() < until) {
                int n = raw.peek(fd);
                if (n < 0) {
                    say("eof");
                    return;
                }
                if (n == 0) {
                    Thread.sleep(1);
                    continue;
                }
                byte[] got = raw.readExactly(fd, n, Duration.ofSeconds(5));
                raw.writeAll(fd, got, Duration.ofSeconds(5));
                chunk = got;
            }
            say("timeout last=" + chunk.length);
        } catch (Exception e) {
            say("error " + e);
            System.exit(2);
        }
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
