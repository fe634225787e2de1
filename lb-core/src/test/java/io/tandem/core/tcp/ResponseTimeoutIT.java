package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.core.vip.ConnectionEvents;
import io.tandem.config.HealthPolicy;
import io.tandem.config.OutlierDetection;
import io.tandem.config.RelayMode;
import io.tandem.config.ResponseTimeoutMode;
import io.tandem.core.testing.AnsweringBackend;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.RecordingEvents;
import io.tandem.core.testing.TestClient;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hung-backend detection ({@code outlier_detection.response_timeout}) on real loopback sockets,
 * for every transport and relay mode: a backend that accepts and reads but never answers is
 * reported through {@link ConnectionEvents#responseTimedOut} once per silence; backends that
 * answer, clients that never send, and VIPs without a timeout are never reported.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("combos")
@ExtendWith(LeakWatcher.class)
class ResponseTimeoutIT {
    static final Duration TIMEOUT = Duration.ofMillis(250);
    /** Detection bound: the timeout plus generous slack for a shared, noisy machine. */
    static final Duration DETECTED_WITHIN = TIMEOUT.plusSeconds(5);
    /** How long "never reported" is watched: several timeouts (and splice polls). */
    static final Duration QUIET_FOR = TIMEOUT.multipliedBy(3);
    /** Big enough that AUTO splices the answer direction (past TcpConnection.AUTO_SPLICE_AFTER). */
    static final int BIG_ANSWER = 256 * 1024;

    record Combo(TransportKind transport, RelayMode mode) {
        @Override
        public String toString() {
            return transport.name().toLowerCase() + "/" + mode.name().toLowerCase();
        }
    }

    static Stream<Combo> combos() {
        return Stream.of(
                new Combo(TransportKind.EPOLL, RelayMode.AUTO),
                new Combo(TransportKind.EPOLL, RelayMode.COPY),
                new Combo(TransportKind.EPOLL, RelayMode.SPLICE),
                new Combo(TransportKind.EPOLL_FALLBACK, RelayMode.AUTO),
                new Combo(TransportKind.NIO, RelayMode.COPY));
    }

    private final Combo combo;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final RecordingEvents events = new RecordingEvents();
    private ProxyFixture proxy;

    ResponseTimeoutIT(Combo combo) {
        this.combo = combo;
    }

    @BeforeEach
    void requireTransport() {
        assumeTrue(combo.transport().available(), "epoll unavailable");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
        if (proxy != null) {
            ProxyFixture p = proxy;
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(p.vip.stats().active.get())
                    .as("active connections after the test").isZero());
            proxy.close();
        }
    }

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    private ProxyFixture proxy(AnsweringBackend backend, Duration timeout, ResponseTimeoutMode mode) {
        OutlierDetection od = new OutlierDetection(1, Duration.ofSeconds(1), Duration.ofSeconds(60), 50, timeout, mode);
        proxy = ProxyFixture.builder(combo.transport())
                .backend(backend.address())
                .relay(combo.mode())
                .health(new HealthPolicy(false, od, 0, Duration.ZERO, false))
                .events(events)
                .start();
        return proxy;
    }

    private Socket connect() throws Exception {
        Socket s = track(TestClient.connect(proxy.address()));
        s.setSoTimeout(10_000);
        return s;
    }

    private void assertNoReportFor(Duration window) {
        await().during(window).atMost(window.plusSeconds(5))
                .until(() -> events.responseTimedOut.get() == 0);
    }

    private void assertReportsStayAt(int n) {
        await().during(QUIET_FOR).atMost(QUIET_FOR.plusSeconds(5)).until(() -> events.responseTimedOut.get() == n);
    }

    @Test
    void hungBackendIsReportedOncePerConnectionAfterTheTimeout() throws Exception {
        AnsweringBackend hung = track(AnsweringBackend.hangingAfter(0));
        proxy(hung, TIMEOUT, ResponseTimeoutMode.FIRST_RESPONSE);
        int connections = 3;
        for (int i = 0; i < connections; i++) {
            AnsweringBackend.request(connect(), 100);
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> hung.requests() == connections);

        await().atMost(DETECTED_WITHIN).until(() -> events.responseTimedOut.get() == connections);
        assertThat(events.responseWaits).allSatisfy(w -> assertThat(w).isGreaterThanOrEqualTo(TIMEOUT.toNanos()));
        // Further silence on the same connections is the same episode: no repeat reports.
        assertReportsStayAt(connections);
        assertThat(proxy.vip.stats().active.get()).as("hung connections are left open").isEqualTo(connections);
    }

    @Test
    void backendThatAnswersInTimeIsNeverReported() throws Exception {
        AnsweringBackend backend = track(AnsweringBackend.answeringAll());
        proxy(backend, TIMEOUT, ResponseTimeoutMode.FIRST_RESPONSE);
        Socket s = connect();
        AnsweringBackend.request(s, 100);
        AnsweringBackend.readAnswer(s, 100);
        AnsweringBackend.request(s, 10); // unanswered later sends do not matter in FIRST_RESPONSE
        assertNoReportFor(QUIET_FOR);
    }

    @Test
    void everyRequestNeverReportsABackendThatAnswersEachRequest() throws Exception {
        AnsweringBackend backend = track(AnsweringBackend.answeringAll());
        proxy(backend, TIMEOUT, ResponseTimeoutMode.EVERY_REQUEST);
        Socket s = connect();
        long end = System.nanoTime() + QUIET_FOR.toNanos();
        // Keep-alive traffic over several timeouts; every other answer is big (AUTO splices it).
        for (int i = 0; i < 200 && System.nanoTime() < end; i++) {
            int length = i % 2 == 0 ? 100 : BIG_ANSWER;
            AnsweringBackend.request(s, length);
            AnsweringBackend.readAnswer(s, length);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // pacing, not waiting for a condition
        }
        assertNoReportFor(TIMEOUT.multipliedBy(2)); // the last request was answered too

    }

    @Test
    void clientThatNeverSendsIsNeverReported() throws Exception {
        AnsweringBackend hung = track(AnsweringBackend.hangingAfter(0));
        proxy(hung, TIMEOUT, ResponseTimeoutMode.EVERY_REQUEST);
        connect();
        connect();
        await().atMost(Duration.ofSeconds(15)).until(() -> hung.accepted() == 2);
        assertNoReportFor(QUIET_FOR);
    }

    @Test
    void everyRequestReportsABackendThatAnswersTheFirstRequestAndHangsOnTheSecondOnce() throws Exception {
        AnsweringBackend backend = track(AnsweringBackend.hangingAfter(1));
        proxy(backend, TIMEOUT, ResponseTimeoutMode.EVERY_REQUEST);
        Socket s = connect();
        AnsweringBackend.request(s, BIG_ANSWER); // big: in AUTO the answer direction splices from here on
        AnsweringBackend.readAnswer(s, BIG_ANSWER);
        AnsweringBackend.request(s, 100);

        await().atMost(DETECTED_WITHIN).until(() -> events.responseTimedOut.get() == 1);
        assertThat(events.responseWaits.peek()).isGreaterThanOrEqualTo(TIMEOUT.toNanos());
        AnsweringBackend.request(s, 100); // more sends into the same silence
        assertReportsStayAt(1);
    }

    @Test
    void firstResponseIgnoresAHangAfterTheFirstAnswer() throws Exception {
        AnsweringBackend backend = track(AnsweringBackend.hangingAfter(1));
        proxy(backend, TIMEOUT, ResponseTimeoutMode.FIRST_RESPONSE);
        Socket s = connect();
        AnsweringBackend.request(s, 100);
        AnsweringBackend.readAnswer(s, 100);
        AnsweringBackend.request(s, 100);
        await().atMost(Duration.ofSeconds(15)).until(() -> backend.requests() == 2);
        assertNoReportFor(QUIET_FOR);
    }

    @Test
    void zeroResponseTimeoutNeverReports() throws Exception {
        AnsweringBackend hung = track(AnsweringBackend.hangingAfter(0));
        proxy(hung, Duration.ZERO, ResponseTimeoutMode.FIRST_RESPONSE);
        AnsweringBackend.request(connect(), 100);
        await().atMost(Duration.ofSeconds(15)).until(() -> hung.requests() == 1);
        assertNoReportFor(QUIET_FOR);
    }
}
