package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.tandem.config.CheckTiming;
import io.tandem.config.HealthCheckSpec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class HttpCheckIT extends CheckerITBase {

    private HttpServer server;
    private final AtomicReference<String> lastHost = new AtomicReference<>();
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(Servers.LOOPBACK, 0), 50);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/ok", ex -> reply(ex, 200, "status: all good"));
        server.createContext("/fail", ex -> reply(ex, 503, "overloaded"));
        server.createContext("/hang", ex -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        release.countDown();
        server.stop(0);
    }

    private void reply(HttpExchange ex, int status, String body) throws IOException {
        lastHost.set(ex.getRequestHeaders().getFirst("Host"));
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    private InetSocketAddress address() {
        return new InetSocketAddress(Servers.LOOPBACK, server.getAddress().getPort());
    }

    private static HealthCheckSpec.Http http(CheckTiming timing, String path, Optional<String> host, Optional<String> body) {
        return new HealthCheckSpec.Http(timing, OptionalInt.empty(), false, "GET", path, host, 200, 399, body);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void statusInRangePassesAndSendsTheTargetAsHostHeader(TestTransport t) throws Exception {
        Recorder r = new Recorder();
        checker(t).watch(address(), http(fast(), "/ok", Optional.empty(), Optional.empty()), InitialState.PENDING, r);
        HealthTransition up = r.next();
        assertThat(up.to()).isEqualTo(CheckState.UP);
        assertThat(up.reason()).isEqualTo("first check passed: status 200");
        assertThat(lastHost.get()).isEqualTo("127.0.0.1:" + address().getPort());
    }

    @ParameterizedTest
    @MethodSource("transports")
    void configuredHostHeaderIsSent(TestTransport t) throws Exception {
        Recorder r = new Recorder();
        checker(t).watch(address(), http(fast(), "/ok", Optional.of("orders.internal"), Optional.empty()),
                InitialState.PENDING, r);
        assertThat(r.next().to()).isEqualTo(CheckState.UP);
        assertThat(lastHost.get()).isEqualTo("orders.internal");
    }

    @ParameterizedTest
    @MethodSource("transports")
    void statusOutOfRangeFailsWithTheStatusInTheReason(TestTransport t) throws Exception {
        Recorder r = new Recorder();
        checker(t).watch(address(), http(fast(), "/fail", Optional.empty(), Optional.empty()), InitialState.PENDING, r);
        HealthTransition down = r.next();
        assertThat(down.to()).isEqualTo(CheckState.DOWN);
        assertThat(down.reason()).isEqualTo("1/1 checks failed: status 503 (expected 200..399)");
    }

    @ParameterizedTest
    @MethodSource("transports")
    void bodySubstringPassesWhenPresentAndFailsWhenAbsent(TestTransport t) throws Exception {
        Recorder good = new Recorder();
        Recorder bad = new Recorder();
        HealthChecker c = checker(t);
        c.watch(address(), http(fast(), "/ok", Optional.empty(), Optional.of("all good")), InitialState.PENDING, good);
        c.watch(address(), http(fast(), "/ok", Optional.empty(), Optional.of("ready")), InitialState.PENDING, bad);
        assertThat(good.next().reason()).isEqualTo("first check passed: status 200, body matched");
        HealthTransition down = bad.next();
        assertThat(down.to()).isEqualTo(CheckState.DOWN);
        assertThat(down.reason()).isEqualTo("1/1 checks failed: status 200, body does not contain \"ready\"");
    }

    @ParameterizedTest
    @MethodSource("transports")
    void serverThatAcceptsButNeverRepliesFailsAtTheTimeout(TestTransport t) throws Exception {
        Recorder r = new Recorder();
        CheckTiming timing = timing(Duration.ofMillis(200), Duration.ofMillis(300));
        checker(t).watch(address(), http(timing, "/hang", Optional.empty(), Optional.empty()), InitialState.PENDING, r);
        HealthTransition down = r.next();
        assertThat(down.to()).isEqualTo(CheckState.DOWN);
        assertThat(down.reason()).isEqualTo("1/1 checks failed: timeout after 300 ms (no response)");
        assertThat(r.lastProbe().elapsed()).isBetween(Duration.ofMillis(250), Duration.ofSeconds(3));
    }
}
