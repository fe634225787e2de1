package io.tandem.core.udp;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How a UDP VIP treats datagrams and sessions. UDP has no connection, so a "session" is the
 * mapping client address → backend that this node keeps to route replies; these settings bound
 * how long it lives and how many may exist, so that a flood of spoofed source ports costs at
 * most {@code maxSessions} sockets.
 *
 * @param maxDatagramSize     largest payload forwarded in either direction; larger datagrams are
 *                            dropped and counted, never truncated (65507 = the IPv4 maximum)
 * @param sessionIdle         a session with no datagram in either direction for this long is closed
 * @param maxSessions         sessions per VIP on this node; when full the least recently used one is
 *                            evicted for a new client
 * @param responsesPerRequest 0 = sessions end only by idling; N = a session ends as soon as the
 *                            backend has answered every client datagram with N datagrams (DNS: 1)
 * @param batch               datagrams read per {@code recvmmsg} call on epoll (1 = plain recvmsg)
 */
public record UdpSettings(int maxDatagramSize, Duration sessionIdle, int maxSessions, int responsesPerRequest,
                          int batch) {

    /** The largest UDP payload over IPv4 (65535 - 8 byte UDP header - 20 byte IP header). */
    public static final int MAX_IPV4_PAYLOAD = 65507;

    public static final UdpSettings DEFAULTS =
            new UdpSettings(MAX_IPV4_PAYLOAD, Duration.ofSeconds(30), 65536, 0, 16);

    public UdpSettings {
        if (maxDatagramSize < 1 || maxDatagramSize > MAX_IPV4_PAYLOAD) {
            throw new IllegalArgumentException("maxDatagramSize: " + maxDatagramSize
                    + " (expected 1.." + MAX_IPV4_PAYLOAD + ")");
        }
        requireNonNull(sessionIdle, "sessionIdle");
        if (sessionIdle.isNegative() || sessionIdle.isZero()) {
            throw new IllegalArgumentException("sessionIdle: " + sessionIdle + " (expected > 0)");
        }
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions: " + maxSessions + " (expected > 0)");
        }
        if (responsesPerRequest < 0) {
            throw new IllegalArgumentException("responsesPerRequest: " + responsesPerRequest + " (expected >= 0)");
        }
        if (batch < 1 || batch > 1024) {
            throw new IllegalArgumentException("batch: " + batch + " (expected 1..1024)");
        }
    }

    public UdpSettings withMaxDatagramSize(int value) {
        return new UdpSettings(value, sessionIdle, maxSessions, responsesPerRequest, batch);
    }

    public UdpSettings withSessionIdle(Duration value) {
        return new UdpSettings(maxDatagramSize, value, maxSessions, responsesPerRequest, batch);
    }

    public UdpSettings withMaxSessions(int value) {
        return new UdpSettings(maxDatagramSize, sessionIdle, value, responsesPerRequest, batch);
    }

    public UdpSettings withResponsesPerRequest(int value) {
        return new UdpSettings(maxDatagramSize, sessionIdle, maxSessions, value, batch);
    }

    public UdpSettings withBatch(int value) {
        return new UdpSettings(maxDatagramSize, sessionIdle, maxSessions, responsesPerRequest, value);
    }
}
