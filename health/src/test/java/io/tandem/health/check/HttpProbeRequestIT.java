package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HealthCheckSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The HTTP probe writes a request encoded once per check and decodes with a bare response decoder
 * (issue 18: cheaper probes). What goes on the wire and how a HEAD response is read must not change.
 */
class HttpProbeRequestIT extends CheckerITBase {

    private static final String OK_NO_BODY_YET = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";

    @ParameterizedTest
    @MethodSource("transports")
    void theRequestIsTheOneNettysEncoderWrote(TestTransport t) throws Exception {
        CompletableFuture<String> seen = new CompletableFuture<>();
        try (Servers.Tcp server = new Servers.Tcp((in, out) -> {
            try {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                int c;
                while ((c = in.read()) >= 0) {
                    b.write(c);
                    if (b.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                        break;
                    }
                }
                seen.complete(b.toString(StandardCharsets.ISO_8859_1));
                out.write("HTTP/1.1 204 No Content\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                seen.completeExceptionally(e);
            }
        })) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), new HealthCheckSpec.Http(fast(), OptionalInt.empty(), false, "POST",
                    "/health?deep=1", Optional.empty(), 200, 399, Optional.empty()), InitialState.PENDING, r);
            assertThat(r.next().to()).isEqualTo(CheckState.UP);
            // Byte for byte what HttpClientCodec encoded from the DefaultFullHttpRequest of earlier builds.
            assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo("POST /health?deep=1 HTTP/1.1\r\n"
                    + "host: 127.0.0.1:" + server.address().getPort() + "\r\n"
                    + "user-agent: tandem-health\r\n"
                    + "accept: */*\r\n"
                    + "connection: close\r\n\r\n");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aHeadResponseHasNoBodyWhateverItsContentLength(TestTransport t) throws Exception {
        // The server announces 10 bytes and sends none: right for HEAD. Waiting for them would time out.
        try (Servers.Tcp server = Servers.banner(OK_NO_BODY_YET)) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), new HealthCheckSpec.Http(fast(), OptionalInt.empty(), false, "HEAD", "/",
                    Optional.empty(), 200, 399, Optional.of("ready")), InitialState.PENDING, r);
            HealthTransition down = r.next();
            assertThat(down.to()).isEqualTo(CheckState.DOWN);
            assertThat(down.reason()).isEqualTo("1/1 checks failed: status 200, body does not contain \"ready\"");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aGetResponseStillWaitsForItsBody(TestTransport t) throws Exception {
        // The server closes once the request is in, before the 10 bytes: a GET waited for them.
        try (Servers.Tcp server = Servers.banner(OK_NO_BODY_YET)) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), new HealthCheckSpec.Http(fast(), OptionalInt.empty(), false, "GET", "/",
                    Optional.empty(), 200, 399, Optional.of("ready")), InitialState.PENDING, r);
            HealthTransition down = r.next();
            assertThat(down.reason()).isEqualTo("1/1 checks failed: connection closed during the body");
        }
    }
}
