package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * UDP session settings of a {@code udp} VIP.
 *
 * @param maxDatagramSize     larger datagrams are dropped and counted, never truncated
 * @param sessionIdle         a session (client address → backend) ends after this long without a datagram
 *                            either way
 * @param maxSessions         sessions per VIP on this node; when full the least recently used is evicted
 *                            (a flood of spoofed source ports cannot exhaust memory or descriptors)
 * @param responsesPerRequest 0 = sessions end by idling; N = a session ends once each request got N
 *                            replies (DNS: 1), freeing its socket at once
 */
public record UdpOptions(int maxDatagramSize, Duration sessionIdle, int maxSessions, int responsesPerRequest) {
    /** The largest UDP payload over IPv4 (65535 - 20 byte IPv4 header - 8 byte UDP header). */
    public static final int MAX_IPV4_PAYLOAD = 65_507;

    /**
     * 9000-byte datagrams (a jumbo frame: anything a real network delivers unfragmented), 30 s idle,
     * 65,536 sessions, idle-only. The receive buffer is this × the recvmmsg batch (16), so a larger
     * maximum costs memory per read; raise it for protocols that fragment (e.g. large EDNS).
     */
    public static final UdpOptions DEFAULTS = new UdpOptions(9_000, Duration.ofSeconds(30), 65_536, 0);

    public UdpOptions {
        requireNonNull(sessionIdle, "sessionIdle");
    }

    public UdpOptions withMaxDatagramSize(int value) {
        return new UdpOptions(value, sessionIdle, maxSessions, responsesPerRequest);
    }

    public UdpOptions withSessionIdle(Duration value) {
        return new UdpOptions(maxDatagramSize, value, maxSessions, responsesPerRequest);
    }

    public UdpOptions withMaxSessions(int value) {
        return new UdpOptions(maxDatagramSize, sessionIdle, value, responsesPerRequest);
    }

    public UdpOptions withResponsesPerRequest(int value) {
        return new UdpOptions(maxDatagramSize, sessionIdle, maxSessions, value);
    }
}
