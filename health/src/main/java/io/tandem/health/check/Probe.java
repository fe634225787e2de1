package io.tandem.health.check;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One attempt of an active check: opens a channel, decides pass or fail, and always closes the
 * channel. Confined to one event loop. A hard timer bounds every probe, whatever the protocol
 * does, so a probe can neither hang nor leak its channel.
 */
abstract class Probe {

    /** The raw outcome; the checker adds timestamps. */
    record Outcome(boolean passed, String detail) {
    }

    final EventLoop loop;
    final InetSocketAddress address;
    final Duration timeout;
    private final Consumer<Outcome> done;
    private ScheduledFuture<?> timer;
    private Channel channel;
    private boolean finished;

    Probe(EventLoop loop, InetSocketAddress address, Duration timeout, Consumer<Outcome> done) {
        this.loop = loop;
        this.address = address;
        this.timeout = timeout;
        this.done = done;
    }

    /** Starts the probe. Must run on {@link #loop}. */
    final void start() {
        assert loop.inEventLoop();
        timer = loop.schedule(() -> finish(false, "timeout after " + timeout.toMillis() + " ms" + progress()),
                timeout.toNanos(), TimeUnit.NANOSECONDS);
        Channel ch;
        try {
            ch = open();
        } catch (RuntimeException e) {
            finish(false, describe(e));
            return;
        }
        if (finished) {
            // Decided synchronously inside open() (e.g. an immediate connect failure).
            closeOutsideTheReadLoop(ch);
        } else {
            channel = ch;
        }
    }

    /** Opens the channel (connect, write, read...) and returns it; calls {@link #finish} later. */
    abstract Channel open();

    /** What the probe had seen so far, appended to a timeout message (e.g. received bytes). */
    String progress() {
        return "";
    }

    /** Cancels a probe in flight without reporting (the check was stopped). */
    final void cancel() {
        if (!finished) {
            finished = true;
            cleanup();
        }
    }

    final boolean finished() {
        return finished;
    }

    /** Reports the outcome once, then closes everything. Must run on {@link #loop}. */
    final void finish(boolean passed, String detail) {
        if (finished) {
            return;
        }
        finished = true;
        cleanup();
        done.accept(new Outcome(passed, detail));
    }

    private void cleanup() {
        if (timer != null) {
            timer.cancel(false);
        }
        if (channel != null) {
            closeOutsideTheReadLoop(channel);
        }
        released();
    }

    /**
     * Closes {@code ch} in a task of its loop, not now: a probe decides inside {@code channelRead},
     * and Netty's epoll datagram read loop (4.2.18) reads again after the handler returns without
     * looking whether the channel was closed meanwhile. The descriptor number, freed by the close
     * and taken by the next socket any thread opens, was then read by this loop: a blocking
     * socket's recv hung the loop (every check on it stopped, timers included), a non-blocking one
     * lost its datagram to us (UdpCheckIT: "timeout (no reply)" from a server that never got the
     * probe). See {@code ProbeClosesOutsideTheReadLoopIT}.
     */
    private void closeOutsideTheReadLoop(Channel ch) {
        try {
            loop.execute(ch::close); // the probe's channels are on its loop
        } catch (java.util.concurrent.RejectedExecutionException e) {
            ch.close(); // the loop is shutting down: no read loop will run again
        }
    }

    /** Releases buffers the probe holds. Called once, on the loop. */
    void released() {
    }

    static String describe(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c
                && !(c instanceof ConnectException) && !(c instanceof PortUnreachableException)) {
            c = c.getCause();
        }
        if (c instanceof PortUnreachableException) {
            return "port unreachable";
        }
        if (c instanceof SocketTimeoutException || c instanceof io.netty.channel.ConnectTimeoutException) {
            return "connect timeout";
        }
        if (c instanceof ClosedChannelException) {
            return "connection closed";
        }
        String m = c.getMessage();
        if (m == null || m.isBlank()) {
            return c.getClass().getSimpleName();
        }
        // Netty prefixes native errors with the syscall and appends the address; keep the essence.
        String lower = m.toLowerCase(java.util.Locale.ROOT);
        if (lower.contains("connection refused")) {
            return "connection refused";
        }
        if (lower.contains("connection reset")) {
            return "connection reset";
        }
        if (lower.contains("no route to host")) {
            return "no route to host";
        }
        if (lower.contains("network is unreachable")) {
            return "network unreachable";
        }
        return m;
    }

    /** Received bytes for a message: printable ASCII as is, every other byte as {@code \xNN}. */
    static String quoteBytes(byte[] b, int max) {
        return quoteBytes(b, 0, b.length, max);
    }

    static String quoteBytes(byte[] b, int offset, int length, int max) {
        return quote(new String(b, offset, length, java.nio.charset.StandardCharsets.ISO_8859_1), max, true);
    }

    static String quote(String s, int max) {
        return quote(s, max, false);
    }

    private static String quote(String s, int max, boolean bytes) {
        String t = s.length() > max ? s.substring(0, max) + "..." : s;
        StringBuilder b = new StringBuilder(t.length() + 2).append('"');
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            switch (c) {
                case '\r' -> b.append("\\r");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '"' -> b.append("\\\"");
                default -> {
                    if (c < 0x20 || c == 0x7f || (bytes && c > 0x7f)) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
