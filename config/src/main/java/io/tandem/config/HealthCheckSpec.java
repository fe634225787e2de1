package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * An active health check, one of a closed family. Every kind shares the {@link CheckTiming}
 * and may probe a port other than the traffic port ({@code port}).
 */
public sealed interface HealthCheckSpec
        permits HealthCheckSpec.Tcp, HealthCheckSpec.Http, HealthCheckSpec.SendExpect, HealthCheckSpec.Udp {

    CheckTiming timing();

    /** Port to probe instead of the backend's traffic port. */
    OptionalInt port();

    /** TCP connect succeeds = pass. */
    record Tcp(CheckTiming timing, OptionalInt port) implements HealthCheckSpec {
        public Tcp {
            requireNonNull(timing, "timing");
            requireNonNull(port, "port");
        }
    }

    /**
     * HTTP(S) request; pass when the status is in [{@code statusMin}, {@code statusMax}] and,
     * if given, the body contains {@code bodyContains}.
     */
    record Http(CheckTiming timing, OptionalInt port, boolean tls, String method, String path,
                Optional<String> host, int statusMin, int statusMax, Optional<String> bodyContains)
            implements HealthCheckSpec {
        public Http {
            requireNonNull(timing, "timing");
            requireNonNull(port, "port");
            requireNonNull(method, "method");
            requireNonNull(path, "path");
            requireNonNull(host, "host");
            requireNonNull(bodyContains, "bodyContains");
        }
    }

    /**
     * TCP send/expect: optionally send {@code send}, then pass when the bytes read match
     * {@code expect} (a prefix match, or a regex when {@code regex}). {@code send} and
     * {@code expect} are byte strings, one char per byte ({@link CheckPayloads}).
     */
    record SendExpect(CheckTiming timing, OptionalInt port, Optional<String> send, String expect, boolean regex)
            implements HealthCheckSpec {
        public SendExpect {
            requireNonNull(timing, "timing");
            requireNonNull(port, "port");
            requireNonNull(send, "send");
            requireNonNull(expect, "expect");
        }
    }

    /**
     * UDP: send {@code send}, pass when a datagram arrives (starting with {@code expect} if
     * given). Both are byte strings, one char per byte ({@link CheckPayloads}).
     */
    record Udp(CheckTiming timing, OptionalInt port, String send, Optional<String> expect)
            implements HealthCheckSpec {
        public Udp {
            requireNonNull(timing, "timing");
            requireNonNull(port, "port");
            requireNonNull(send, "send");
            requireNonNull(expect, "expect");
        }
    }
}
