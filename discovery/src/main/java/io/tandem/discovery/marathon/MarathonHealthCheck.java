package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One entry of an app's Marathon {@code healthChecks} ({@code AppHealthCheck} in Marathon's RAML),
 * with Marathon's defaults filled in.
 *
 * @param protocol               HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS or MESOS_TCP
 *                               (default HTTP)
 * @param portIndex              the app port it probes (default 0); ignored when {@code port} is set
 * @param port                   a fixed port to probe, overriding {@code portIndex}
 * @param path                   HTTP(S) request path (default {@code /})
 * @param interval               {@code intervalSeconds} (default 60)
 * @param timeout                {@code timeoutSeconds} (default 20)
 * @param gracePeriod            {@code gracePeriodSeconds} (default 300)
 * @param maxConsecutiveFailures default 3; 0 = Marathon never kills the task for it
 */
record MarathonHealthCheck(String protocol, int portIndex, OptionalInt port, String path, Duration interval,
                           Duration timeout, Duration gracePeriod, int maxConsecutiveFailures) {
    MarathonHealthCheck {
        requireNonNull(protocol, "protocol");
        requireNonNull(port, "port");
        requireNonNull(path, "path");
        requireNonNull(interval, "interval");
        requireNonNull(timeout, "timeout");
        requireNonNull(gracePeriod, "gracePeriod");
    }

    /** Whether the check probes the port at {@code index} (Marathon: {@code port} wins over {@code portIndex}). */
    boolean probes(int index) {
        return port.isPresent() || portIndex == index;
    }

    boolean http() {
        return protocol.equals("HTTP") || protocol.equals("HTTPS") || protocol.equals("MESOS_HTTP")
                || protocol.equals("MESOS_HTTPS");
    }

    boolean tls() {
        return protocol.equals("HTTPS") || protocol.equals("MESOS_HTTPS");
    }

    boolean tcp() {
        return protocol.equals("TCP") || protocol.equals("MESOS_TCP");
    }

    /** One short description for notes, e.g. {@code HTTP /health port index 0}. */
    String describe() {
        return protocol + (http() ? " " + path : "") + (port.isPresent() ? " port " + port.getAsInt()
                : " port index " + portIndex);
    }

    static Optional<String> validProtocol(String p) {
        return switch (p) {
            case "HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP" -> Optional.of(p);
            default -> Optional.empty();
        };
    }
}
