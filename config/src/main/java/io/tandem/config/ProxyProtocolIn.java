package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * A VIP behind another layer-4 balancer ({@code proxy_protocol_in}): each connection starts with
 * a PROXY protocol header, v1 or v2, whose client address then stands for the connection's own
 * everywhere (hashing, {@code acl}, per-client limits, the header sent on to backends, logs).
 * HAProxy {@code bind ... accept-proxy}; Envoy's {@code proxy_protocol} listener filter.
 *
 * @param enabled   headers are expected (and required) on every connection
 * @param from      which peers may send one ({@link AccessControl#OPEN}: any); others are reset
 * @param timeout   how long a connection may take to send its whole header
 * @param maxLength the largest v2 header accepted, TLVs included (v1 is at most 107 bytes)
 */
public record ProxyProtocolIn(boolean enabled, AccessControl from, Duration timeout, int maxLength) {
    public static final ProxyProtocolIn OFF = new ProxyProtocolIn(false, AccessControl.OPEN, Duration.ofSeconds(3), 1024);

    public ProxyProtocolIn {
        requireNonNull(from, "from");
        requireNonNull(timeout, "timeout");
    }
}
