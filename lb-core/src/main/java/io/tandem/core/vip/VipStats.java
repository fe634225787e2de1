package io.tandem.core.vip;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** Live counters of one VIP (see {@link io.tandem.core.pool.BackendStats} for why LongAdder). */
public final class VipStats {
    public final AtomicInteger active = new AtomicInteger();
    public final LongAdder totalConnections = new LongAdder();
    public final LongAdder bytesIn = new LongAdder();   // client -> proxy
    public final LongAdder bytesOut = new LongAdder();  // proxy -> client
    public final LongAdder connectRetries = new LongAdder();
    /** Connections refused because every eligible backend failed (or the pool was empty). */
    public final LongAdder noBackend = new LongAdder();
    /** Connections refused by {@code limits.max_connections}. */
    public final LongAdder limitHits = new LongAdder();
    /**
     * TCP connections the accepting event loop handed to a less loaded loop (shared accept queue
     * only): a steady rate means the kernel keeps waking the same loop, i.e. the proxy is mostly idle.
     */
    public final LongAdder acceptHandOffs = new LongAdder();
    /**
     * Connections (or UDP sessions) that would have looped back into this node: a backend that is
     * this VIP itself, directly or through other VIPs of the node ({@link SelfLoops}).
     */
    public final LongAdder selfLoops = new LongAdder();
    /** Connections (TCP) or datagrams of new sessions (UDP) refused by the VIP's {@code acl}. */
    public final LongAdder aclRefused = new LongAdder();
    /** Refused by {@code limits.per_client.max_connections} (TCP connections, UDP new sessions). */
    public final LongAdder clientConnectionsRefused = new LongAdder();
    /** Refused by {@code limits.per_client.max_rate}. */
    public final LongAdder clientRateRefused = new LongAdder();
    /** Connections closed for a missing, malformed or late PROXY header, or from a peer not allowed to send one. */
    public final LongAdder proxyHeaderRefused = new LongAdder();
    /** {@code sni} with {@code on_malformed: reject}: a hello that is malformed or not TLS at all. */
    public final LongAdder sniMalformedRefused = new LongAdder();
    /** {@code sni} with {@code on_malformed: reject}: a well-formed hello without a server name. */
    public final LongAdder sniMissingRefused = new LongAdder();
    /** {@code sni} with {@code on_malformed: reject}: no complete hello within {@code sni.timeout}. */
    public final LongAdder sniTimeoutRefused = new LongAdder();
    /** {@code sni}: a name (or a hello sent to the default) with no route and no default backends. */
    public final LongAdder sniNoRouteRefused = new LongAdder();
    /** {@code sni}: connections routed, by route. */
    public final SniRouteCounts sniRoutes = new SniRouteCounts();
}
