package io.tandem.perf.udp;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.TransportKind;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.transport.Transport;
import io.tandem.core.udp.UdpListener;
import io.tandem.core.vip.Vip;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs one UDP VIP ({@link UdpListener}) in front of static backends, round robin, for load
 * tests without a full node. Prints the listener's counters every 5 s and at the end.
 *
 * <p>Usage: {@code UdpProxyMain listen-host:port backend-host:port[,...] [seconds=120] [threads=1]
 * [batch=16] [maxDatagramSize=65507] [transport=auto|epoll|nio]}; runs for at most 600 s.
 */
public final class UdpProxyMain {
    private UdpProxyMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: UdpProxyMain listen-host:port backend-host:port[,...] [seconds=120] [threads=1]"
                    + " [batch=16] [maxDatagramSize=65507] [transport=auto|epoll|nio]");
            System.exit(2);
        }
        HostPort listen = HostPort.parse(args[0]);
        List<Backend> backends = Arrays.stream(args[1].split(",")).map(HostPort::parse)
                .map(hp -> Backend.of(hp, 1)).toList();
        int seconds = Math.min(600, args.length > 2 ? Integer.parseInt(args[2]) : 120);
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        int batch = args.length > 4 ? Integer.parseInt(args[4]) : 16;
        int maxDatagram = args.length > 5 ? Integer.parseInt(args[5]) : UdpOptions.MAX_IPV4_PAYLOAD;
        TransportKind kind = args.length > 6 ? TransportKind.valueOf(args[6].toUpperCase()) : TransportKind.AUTO;

        VipConfig config = new VipConfig("udp-perf", listen, Protocol.UDP, PolicyKind.ROUND_ROBIN, List.of(),
                Limits.UNLIMITED, Timeouts.DEFAULTS, 0, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty());
        AtomicInteger next = new AtomicInteger();
        Policy roundRobin = (client, tried) -> {
            for (int i = 0; i < backends.size(); i++) {
                Backend b = backends.get(Math.floorMod(next.getAndIncrement(), backends.size()));
                if (!tried.contains(b)) {
                    return b;
                }
            }
            return null;
        };
        Vip vip = new Vip("udp-perf", new BackendPool(config, backends, roundRobin, false, 1));
        Transport transport = Transport.select(kind);
        EventLoopGroup group = transport.newGroup(threads, "udp-proxy");
        UdpOptions options = UdpOptions.DEFAULTS.withMaxDatagramSize(maxDatagram);
        UdpListener listener = UdpListener.bind(vip, group, transport, ConnectionEvents.NONE, options, batch)
                .get(10, TimeUnit.SECONDS);
        System.out.printf("udp proxy transport=%s address=%s backends=%s threads=%d batch=%d max_datagram=%d%n",
                transport.name(), listener.localAddress(), backends, threads, batch, maxDatagram);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            Thread.sleep(Math.min(5000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            System.out.println("udp proxy " + listener.stats());
        }
        listener.close().get(10, TimeUnit.SECONDS);
        group.shutdownGracefully().sync();
    }
}
