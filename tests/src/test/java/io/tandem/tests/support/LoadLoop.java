package io.tandem.tests.support;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A bounded client load against a VIP: a few client threads, each making one new TCP connection
 * per request ({@code GET /}, read the answer to EOF), with a short pause between requests. It
 * stops on {@link #close()}, after {@code maxDuration}, or after {@code maxRequests} attempts,
 * whichever comes first, so a broken node can never make it run away.
 *
 * <p>A <em>request</em> may take several <em>attempts</em>: with {@code attemptsPerRequest > 1}
 * a failed attempt is retried at once on a new connection, as a real client would after its
 * connection was closed under it. Every attempt is recorded with its start and end
 * ({@link System#nanoTime()}), outcome and the backend that answered.
 */
public final class LoadLoop implements AutoCloseable {
    /** One connection: connect, send a request, read the answer. */
    public record Attempt(int request, int attempt, long startNanos, long endNanos, boolean ok, String backend,
                          boolean timedOut, String error) {
        public long millis() {
            return TimeUnit.NANOSECONDS.toMillis(endNanos - startNanos);
        }

        public boolean startedAtOrAfter(long nanos) {
            return startNanos - nanos >= 0;
        }

        /** Started before {@code nanos} and still open at it. */
        public boolean inFlightAt(long nanos) {
            return startNanos - nanos < 0 && endNanos - nanos >= 0;
        }
    }

    /** Load shape. {@code readTimeout}: how long an attempt waits for its answer (a "stuck" attempt hits it). */
    public record Options(int clients, Duration pause, int attemptsPerRequest, Duration connectTimeout,
                          Duration readTimeout, Duration maxDuration, int maxRequests) {
        public Options {
            if (clients < 1 || clients > 16) {
                throw new IllegalArgumentException("clients: " + clients + " (expected 1..16)");
            }
            if (attemptsPerRequest < 1) {
                throw new IllegalArgumentException("attemptsPerRequest: " + attemptsPerRequest + " (expected >= 1)");
            }
            if (maxRequests < 1) {
                throw new IllegalArgumentException("maxRequests: " + maxRequests + " (expected >= 1)");
            }
            requireNonNull(pause, "pause");
            requireNonNull(connectTimeout, "connectTimeout");
            requireNonNull(readTimeout, "readTimeout");
            requireNonNull(maxDuration, "maxDuration");
        }

        /** 3 clients, 10 ms pause, no client retry, 2 s connect, 5 s read, at most 15 s and 20 000 requests. */
        public static Options defaults() {
            return new Options(3, Duration.ofMillis(10), 1, Duration.ofSeconds(2), Duration.ofSeconds(5),
                    Duration.ofSeconds(15), 20_000);
        }

        public Options withAttemptsPerRequest(int n) {
            return new Options(clients, pause, n, connectTimeout, readTimeout, maxDuration, maxRequests);
        }

        public Options withReadTimeout(Duration d) {
            return new Options(clients, pause, attemptsPerRequest, connectTimeout, d, maxDuration, maxRequests);
        }
    }

    private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private final int port;
    private final Options options;
    private final ConcurrentLinkedQueue<Attempt> attempts = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicInteger requests = new AtomicInteger();
    private final List<Thread> threads = new ArrayList<>();
    private final long deadline;

    private LoadLoop(int port, Options options) {
        this.port = port;
        this.options = options;
        this.deadline = System.nanoTime() + options.maxDuration().toNanos();
    }

    public static LoadLoop start(int vipPort, Options options) {
        LoadLoop l = new LoadLoop(vipPort, requireNonNull(options, "options"));
        for (int i = 0; i < options.clients(); i++) {
            Thread t = Thread.ofPlatform().daemon().name("load-" + vipPort + "-" + i).start(l::run);
            l.threads.add(t);
        }
        return l;
    }

    private boolean running() {
        return !stop.get() && System.nanoTime() - deadline < 0;
    }

    private void run() {
        while (running()) {
            int request = requests.incrementAndGet();
            if (request > options.maxRequests()) {
                return;
            }
            for (int attempt = 1; attempt <= options.attemptsPerRequest(); attempt++) {
                Attempt a = once(request, attempt);
                attempts.add(a);
                if (a.ok()) {
                    break;
                }
            }
            LockSupport.parkNanos(options.pause().toNanos());
        }
    }

    private Attempt once(int request, int attempt) {
        long start = System.nanoTime();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                    (int) options.connectTimeout().toMillis());
            s.setSoTimeout((int) options.readTimeout().toMillis());
            s.getOutputStream().write(REQUEST);
            s.getOutputStream().flush();
            String answer = readAll(s.getInputStream());
            long end = System.nanoTime();
            int body = answer.indexOf("backend=");
            if (answer.startsWith("HTTP/1.1 200") && body >= 0) {
                return new Attempt(request, attempt, start, end, true, answer.substring(body + 8).trim(), false, null);
            }
            return new Attempt(request, attempt, start, end, false, null, false,
                    answer.isEmpty() ? "closed without an answer" : "bad answer: " + answer.lines().findFirst().orElse(""));
        } catch (SocketTimeoutException e) {
            return new Attempt(request, attempt, start, System.nanoTime(), false, null, true, "no answer within "
                    + options.readTimeout().toMillis() + " ms");
        } catch (IOException e) {
            return new Attempt(request, attempt, start, System.nanoTime(), false, null, false, e.toString());
        }
    }

    private static String readAll(InputStream in) throws IOException {
        byte[] b = in.readNBytes(4096);
        return new String(b, StandardCharsets.US_ASCII);
    }

    /** Everything recorded so far (a copy). */
    public List<Attempt> attempts() {
        return List.copyOf(attempts);
    }

    /** Successful answers from {@code backend} that started at or after {@code sinceNanos}. */
    public long answersFrom(String backend, long sinceNanos) {
        return attempts.stream().filter(a -> a.ok() && backend.equals(a.backend()) && a.startedAtOrAfter(sinceNanos))
                .count();
    }

    public long attemptsStartedAfter(long sinceNanos) {
        return attempts.stream().filter(a -> a.startedAtOrAfter(sinceNanos)).count();
    }

    public boolean isRunning() {
        return threads.stream().anyMatch(Thread::isAlive);
    }

    /** Stops the clients and waits for the ones in flight (each is bounded by its timeouts). */
    @Override
    public void close() {
        stop.set(true);
        long waitMs = options.connectTimeout().plus(options.readTimeout()).multipliedBy(options.attemptsPerRequest())
                .toMillis() + 1000;
        for (Thread t : threads) {
            try {
                t.join(waitMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
