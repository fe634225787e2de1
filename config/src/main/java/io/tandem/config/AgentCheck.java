package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;

/**
 * HAProxy's agent check ({@code agent-check}): every {@code interval}, connect to a small agent the
 * backend runs on {@code port}, optionally send {@code send}, and read one line in which the agent
 * says how the backend should be treated — {@code up}/{@code down}/{@code fail}/{@code stopped}, an
 * admin state ({@code ready}/{@code drain}/{@code maint}) and a weight percentage ({@code 75%}).
 * It runs beside the VIP's health check, never instead of it; an agent that cannot be reached
 * changes nothing (HAProxy: "Failure to connect to the agent is not considered an error").
 *
 * @param port     the agent's TCP port (HAProxy {@code agent-port})
 * @param address  the agent's IP literal when it is not the backend's own (HAProxy {@code agent-addr})
 * @param interval between two agent checks (HAProxy {@code agent-inter}, default 2 s)
 * @param timeout  for one exchange, connect to line end (HAProxy uses {@code agent-inter} when
 *                 {@code timeout check} is unset; so does the default here)
 * @param send     a byte string ({@link CheckPayloads}) sent on connect (HAProxy {@code agent-send})
 */
public record AgentCheck(int port, Optional<String> address, Duration interval, Duration timeout,
                         Optional<String> send) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(2);

    public AgentCheck {
        requireNonNull(address, "address");
        requireNonNull(interval, "interval");
        requireNonNull(timeout, "timeout");
        requireNonNull(send, "send");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected 1..65535)");
        }
    }
}
