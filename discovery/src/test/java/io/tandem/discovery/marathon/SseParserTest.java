package io.tandem.discovery.marathon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {

    private final List<SseParser.SseEvent> events = new ArrayList<>();
    private final List<String> oversized = new ArrayList<>();
    private final SseParser parser = new SseParser(new SseParser.Sink() {
        @Override
        public void onEvent(SseParser.SseEvent event) {
            events.add(event);
        }

        @Override
        public void onOversized(String type, int limit) {
            oversized.add(type);
        }
    }, 64);

    private void feed(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        parser.feed(b, 0, b.length);
    }

    @Test
    void crlfFramedEventsAsJettyWritesThemAreParsed() {
        feed("event: event_stream_attached\r\ndata: {\"a\":1}\r\n\r\nevent: status_update_event\r\ndata: {\"b\":2}\r\n\r\n");
        assertThat(events).containsExactly(
                new SseParser.SseEvent("event_stream_attached", "{\"a\":1}"),
                new SseParser.SseEvent("status_update_event", "{\"b\":2}"));
    }

    @Test
    void lfOnlyAndLoneCrLineEndingsAreAccepted() {
        feed("event: x\ndata: 1\n\nevent: y\rdata: 2\r\r");
        assertThat(events).containsExactly(new SseParser.SseEvent("x", "1"), new SseParser.SseEvent("y", "2"));
    }

    @Test
    void multipleDataLinesAreJoinedWithNewline() {
        feed("event: x\r\ndata: line1\r\ndata:line2\r\ndata: \r\n\r\n");
        assertThat(events).containsExactly(new SseParser.SseEvent("x", "line1\nline2\n"));
    }

    @Test
    void heartbeatCrThenLfInSeparateChunksDispatchesNothingAndDoesNotSplitTheNextEvent() {
        feed("event: x\r\ndata: 1\r\n\r\n");
        feed("\r");
        feed("\n");
        feed("\r");
        feed("\n");
        feed("event: y\r\ndata: 2\r\n\r\n");
        assertThat(events).containsExactly(new SseParser.SseEvent("x", "1"), new SseParser.SseEvent("y", "2"));
    }

    @Test
    void crAtEndOfOneChunkAndLfAtStartOfNextIsOneLineEnd() {
        feed("event: x\r");
        feed("\ndata: 1\r");
        feed("\n\r");
        feed("\n");
        assertThat(events).containsExactly(new SseParser.SseEvent("x", "1"));
    }

    @Test
    void byteByByteFeedingGivesTheSameEventsAsOneChunkIncludingSplitUtf8() {
        String stream = "event: a\r\ndata: {\"name\":\"bäckend-→\"}\r\n\r\n\r\n:comment\r\nevent: b\r\ndata: 2\r\n\r\n";
        byte[] b = stream.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            parser.feed(b, i, 1);
        }
        assertThat(events).containsExactly(new SseParser.SseEvent("a", "{\"name\":\"bäckend-→\"}"),
                new SseParser.SseEvent("b", "2"));
    }

    @Test
    void commentsUnknownFieldsAndEventsWithoutDataAreIgnored() {
        feed(": hello\r\nid: 7\r\nretry: 10\r\n\r\nevent: nodata\r\n\r\n");
        assertThat(events).isEmpty();
    }

    @Test
    void eventWithoutTypeIsAMessage() {
        feed("data: x\n\n");
        assertThat(events).containsExactly(new SseParser.SseEvent("message", "x"));
    }

    @Test
    void incompleteEventAtTheEndIsNotDispatched() {
        feed("event: x\r\ndata: {\"partial");
        assertThat(events).isEmpty();
    }

    @Test
    void anOversizedLineDropsOnlyItsEventAndTheStreamContinues() {
        feed("event: big\r\ndata: " + "x".repeat(200) + "\r\n\r\nevent: small\r\ndata: ok\r\n\r\n");
        assertThat(oversized).containsExactly("big");
        assertThat(events).containsExactly(new SseParser.SseEvent("small", "ok"));
    }
}
