package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Incremental {@code text/event-stream} parser (the WHATWG framing): lines end in CRLF, LF or a
 * lone CR, and a CR at the end of one chunk followed by LF at the start of the next is still one
 * line end — exactly how Jetty's heartbeat ({@code \r}, flush, {@code \n}, flush) arrives. A blank
 * line dispatches the pending event; one without any {@code data:} field (a heartbeat) dispatches
 * nothing. Several {@code data:} lines are joined with {@code \n}. Lines are decoded as UTF-8 only
 * when complete, so a multi-byte character split across reads is safe. Not thread-safe: one
 * stream, one reader thread.
 */
final class SseParser {

    /** One dispatched event; {@code type} is {@code message} when the stream named none. */
    record SseEvent(String type, String data) { }

    interface Sink {
        void onEvent(SseEvent event);

        /** An event had a line longer than the limit; it was skipped whole. */
        void onOversized(String type, int limit);
    }

    private final Sink sink;
    private final int maxLineBytes;
    private byte[] line = new byte[256];
    private int len;
    private boolean lastWasCr;
    private boolean lineOverflow;
    private boolean eventOversized;
    private String type = "";
    private StringBuilder data;

    SseParser(Sink sink, int maxLineBytes) {
        this.sink = requireNonNull(sink, "sink");
        if (maxLineBytes < 16) {
            throw new IllegalArgumentException("maxLineBytes: " + maxLineBytes + " (expected >= 16)");
        }
        this.maxLineBytes = maxLineBytes;
    }

    void feed(byte[] buf, int off, int n) {
        for (int i = off, end = off + n; i < end; i++) {
            byte c = buf[i];
            if (c == '\n') {
                if (lastWasCr) {
                    lastWasCr = false;
                } else {
                    endLine();
                }
            } else if (c == '\r') {
                lastWasCr = true;
                endLine();
            } else {
                lastWasCr = false;
                append(c);
            }
        }
    }

    private void append(byte c) {
        if (lineOverflow) {
            return;
        }
        if (len == maxLineBytes) {
            lineOverflow = true;
            return;
        }
        if (len == line.length) {
            line = Arrays.copyOf(line, Math.min(maxLineBytes, line.length * 2));
        }
        line[len++] = c;
    }

    private void endLine() {
        if (lineOverflow) {
            lineOverflow = false;
            eventOversized = true;
            len = 0;
            return;
        }
        if (len == 0) {
            dispatch();
            return;
        }
        String text = new String(line, 0, len, StandardCharsets.UTF_8);
        len = 0;
        if (line.length > 64 * 1024) {
            line = new byte[256]; // don't keep a huge buffer after one big app definition
        }
        if (text.charAt(0) == ':') {
            return; // comment
        }
        int colon = text.indexOf(':');
        String field = colon < 0 ? text : text.substring(0, colon);
        String value = colon < 0 ? "" : text.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        switch (field) {
            case "event" -> type = value;
            case "data" -> {
                if (data == null) {
                    data = new StringBuilder(value.length());
                } else {
                    data.append('\n');
                }
                data.append(value);
            }
            default -> { } // id, retry and unknown fields: Marathon sends none we need
        }
    }

    private void dispatch() {
        try {
            if (eventOversized) {
                sink.onOversized(type.isEmpty() ? "message" : type, maxLineBytes);
            } else if (data != null) {
                sink.onEvent(new SseEvent(type.isEmpty() ? "message" : type, data.toString()));
            }
        } finally {
            type = "";
            data = null;
            eventOversized = false;
        }
    }
}
