package io.tandem.tests.ha;

import io.tandem.tests.support.OwnerWatch;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A client in the {@code client} namespace: one new TCP connection and one {@code GET /} per
 * attempt to each VIP, every INTERVAL ms, for at most DURATION ms. Each attempt prints
 * {@code R <vip> <startMillis> <endMillis> ok|fail <detail>} (wall clock, comparable with the
 * test JVM's). {@code ClientLoopMain DURATION_MS INTERVAL_MS OWNER_PID VIP:PORT...}
 */
public final class ClientLoopMain {
    private ClientLoopMain() {
    }

    public static void main(String[] args) throws Exception {
        runTargets(args, "client-", ClientLoopMain::loop);
    }

    /** One client's attempts at one target until {@code end} (wall clock), every {@code interval} ms. */
    @FunctionalInterface
    interface TargetLoop {
        void run(String target, long end, long interval);
    }

    /**
     * {@code DURATION_MS INTERVAL_MS OWNER_PID TARGET...}: exits with the owner process, runs
     * {@code loop} on a platform thread per target and prints {@code client done} when all end.
     */
    static void runTargets(String[] args, String threadPrefix, TargetLoop loop) throws InterruptedException {
        long duration = Long.parseLong(args[0]);
        long interval = Long.parseLong(args[1]);
        OwnerWatch.exitWithOwner(Long.parseLong(args[2]));
        long end = System.currentTimeMillis() + duration;
        Thread[] threads = new Thread[args.length - 3];
        for (int i = 3; i < args.length; i++) {
            String target = args[i];
            threads[i - 3] = Thread.ofPlatform().name(threadPrefix + target).start(() -> loop.run(target, end, interval));
        }
        for (Thread t : threads) {
            t.join();
        }
        System.out.println("client done");
        System.out.flush();
    }

    private static void loop(String target, long end, long interval) {
        String host = target.substring(0, target.lastIndexOf(':'));
        int port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
        System.out.println("client started " + target);
        System.out.flush();
        int attempts = 0;
        while (System.currentTimeMillis() < end && attempts++ < 100_000) {
            long start = System.currentTimeMillis();
            String result;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), 300);
                s.setSoTimeout(1000);
                OutputStream out = s.getOutputStream();
                out.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                result = text.startsWith("HTTP/1.1 200") && text.contains("backend=") ? "ok 200"
                        : "fail bad-response:" + text.length();
            } catch (IOException e) {
                result = "fail " + e.getClass().getSimpleName() + ":" + String.valueOf(e.getMessage()).replace(' ', '_');
            }
            if (!report(host, start, result, interval)) {
                return;
            }
        }
    }

    /**
     * Prints one attempt's {@code R} line and sleeps out the rest of its interval; false when
     * interrupted (the loop ends).
     */
    static boolean report(String host, long start, String result, long interval) {
        long done = System.currentTimeMillis();
        synchronized (System.out) {
            System.out.println("R " + host + " " + start + " " + done + " " + result);
            System.out.flush();
        }
        long sleep = start + interval - System.currentTimeMillis();
        if (sleep > 0) {
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                return false;
            }
        }
        return true;
    }
}
