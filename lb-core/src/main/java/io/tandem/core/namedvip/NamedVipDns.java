package io.tandem.core.namedvip;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DefaultDnsResponse;
import io.netty.handler.codec.dns.DnsOpCode;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.handler.codec.dns.TcpDnsQueryDecoder;
import io.netty.handler.codec.dns.TcpDnsResponseEncoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tandem.config.DiscoverySettings;
import io.tandem.core.transport.Transport;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.spi.SelectorProvider;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small authoritative DNS server for Marathon named VIPs, over UDP and TCP on one address and
 * port ({@code discovery.dns}), answering from a {@link NamedVipZone} that {@link #update} swaps
 * whole (one volatile read per query).
 *
 * <p>It runs on the node's event loops, not a group of its own: a query costs one decode, one map
 * lookup and one encode (microseconds, nothing blocks), and a group of its own would add idle
 * threads and memory to every node for a handful of queries per second. The admin API makes the
 * same choice.
 *
 * <p>Untrusted input stays bounded: Netty's codec parses each datagram within its own bounds and
 * a query that does not parse is dropped (counted; the socket stays open); a query with other
 * than one question is answered FORMERR, an opcode other than QUERY NOTIMP, a message that is a
 * response is never answered. TCP frames are at most 65 535 bytes by the protocol, a connection
 * idle for {@value #TCP_IDLE_SECONDS} s is closed and at most {@value #MAX_TCP_CONNECTIONS} are
 * open at once. UDP answers that would exceed 512 bytes are sent truncated (TC) so the client
 * retries over TCP.
 */
public final class NamedVipDns implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NamedVipDns.class);

    static final int TCP_IDLE_SECONDS = 10;
    static final int MAX_TCP_CONNECTIONS = 128;
    static final int MAX_UDP_RESPONSE = 512;

    private final DiscoverySettings.NamedVipDns settings;
    private final Channel udp;
    private final Channel tcp;
    private final ChannelGroup connections;
    private final Counter malformed;
    private final MeterRegistry registry;
    private final AtomicLong serial = new AtomicLong(1);
    private volatile NamedVipZone zone;
    private Map<String, String> lastInput = Map.of(); // guarded by this

    private NamedVipDns(DiscoverySettings.NamedVipDns settings, Channel udp, Channel tcp, ChannelGroup connections,
                        MeterRegistry registry, Counter malformed) {
        this.settings = settings;
        this.udp = udp;
        this.tcp = tcp;
        this.connections = connections;
        this.registry = registry;
        this.malformed = malformed;
        this.zone = NamedVipZone.of(settings.suffix(), settings.ttl().toSeconds(), serial.get(), Map.of());
    }

    /**
     * Binds UDP, then TCP on the same port. Port 0 (tests, embedding: the config file asks for a
     * real port) takes an ephemeral UDP port and tries TCP on it, a few times over, since another
     * socket may hold that TCP port.
     *
     * @throws IllegalStateException naming the address when either cannot be bound
     */
    public static NamedVipDns start(DiscoverySettings.NamedVipDns settings, EventLoopGroup group, Transport transport,
                                    MeterRegistry registry) {
        requireNonNull(settings, "settings");
        requireNonNull(group, "group");
        requireNonNull(transport, "transport");
        requireNonNull(registry, "registry");
        InetSocketAddress address = new InetSocketAddress(InetAddress.ofLiteral(settings.listen().host()),
                settings.listen().port());
        Counter malformed = Counter.builder("tandem.namedvip.dns.malformed")
                .description("DNS queries to the named-VIP responder dropped because they did not parse")
                .register(registry);
        NamedVipDns[] self = new NamedVipDns[1];
        ChannelGroup connections = new DefaultChannelGroup("tandem-namedvip-dns", GlobalEventExecutor.INSTANCE);
        AtomicInteger open = new AtomicInteger();
        SocketProtocolFamily family = address.getAddress() instanceof Inet4Address ? SocketProtocolFamily.INET
                : SocketProtocolFamily.INET6;
        Bootstrap udpBootstrap = new Bootstrap().group(group).channel(transport.datagramChannel())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(),
                                new UdpHandler(() -> self[0]));
                    }
                });
        ServerBootstrap tcpBootstrap = new ServerBootstrap().group(group)
                .channelFactory(serverChannelFactory(transport, family))
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (open.incrementAndGet() > MAX_TCP_CONNECTIONS) {
                            open.decrementAndGet();
                            ch.close();
                            return;
                        }
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        connections.add(ch);
                        ch.pipeline().addLast(new IdleStateHandler(0, 0, TCP_IDLE_SECONDS, TimeUnit.SECONDS),
                                new TcpDnsQueryDecoder(), new TcpDnsResponseEncoder(), new TcpHandler(() -> self[0]));
                    }
                });
        int attempts = address.getPort() == 0 ? 10 : 1;
        for (int attempt = 1; ; attempt++) {
            Channel udp = udpBootstrap.bind(address).awaitUninterruptibly().channel();
            if (!udp.isActive()) {
                udp.close();
                throw new IllegalStateException("discovery.dns.listen: " + settings.listen() + " (expected a bindable "
                        + "address: UDP bind failed)");
            }
            int port = ((InetSocketAddress) udp.localAddress()).getPort();
            Channel tcp = tcpBootstrap.bind(new InetSocketAddress(address.getAddress(), port)).awaitUninterruptibly()
                    .channel();
            if (!tcp.isActive()) {
                udp.close().awaitUninterruptibly();
                tcp.close();
                if (attempt < attempts) {
                    continue;
                }
                throw new IllegalStateException("discovery.dns.listen: " + settings.listen() + " (expected a bindable "
                        + "address: TCP bind on port " + port + " failed)");
            }
            NamedVipDns dns = new NamedVipDns(settings, udp, tcp, connections, registry, malformed);
            self[0] = dns;
            log.info("named-vip dns listening udp={} tcp={} suffix={} ttl_s={}", udp.localAddress(),
                    tcp.localAddress(), settings.suffix(), settings.ttl().toSeconds());
            return dns;
        }
    }

    private static ChannelFactory<ServerChannel> serverChannelFactory(Transport transport, SocketProtocolFamily family) {
        if (transport.serverChannel() == EpollServerSocketChannel.class) {
            return () -> new EpollServerSocketChannel(family);
        }
        if (transport.serverChannel() == NioServerSocketChannel.class) {
            return () -> new NioServerSocketChannel(SelectorProvider.provider(), family);
        }
        return new ReflectiveChannelFactory<>(transport.serverChannel());
    }

    /**
     * Replaces the zone with the node's named VIPs (the admin API's {@code namedVips} map,
     * {@code /orders:8080/tcp} → {@code 198.18.175.99:8080}). One caller at a time.
     */
    public synchronized void update(Map<String, String> namedVips) {
        if (namedVips.equals(lastInput)) {
            return;
        }
        lastInput = Map.copyOf(namedVips);
        NamedVipZone next = NamedVipZone.of(settings.suffix(), settings.ttl().toSeconds(), serial.incrementAndGet(),
                namedVips);
        zone = next;
        log.info("named-vip dns zone updated suffix={} names={} serial={}", settings.suffix(), next.size(),
                serial.get());
    }

    public InetSocketAddress udpAddress() {
        return (InetSocketAddress) udp.localAddress();
    }

    public InetSocketAddress tcpAddress() {
        return (InetSocketAddress) tcp.localAddress();
    }

    @Override
    public void close() {
        udp.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        tcp.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }

    /** Builds the response to {@code query} (FORMERR/NOTIMP/REFUSED/NXDOMAIN/answers). */
    private void fill(DnsQuery query, DnsResponse response, int sizeLimit) {
        response.setRecursionDesired(query.isRecursionDesired());
        int questions = query.count(DnsSection.QUESTION);
        if (questions != 1) {
            response.setCode(DnsResponseCode.FORMERR);
            count("formerr");
            return;
        }
        DnsQuestion q = query.recordAt(DnsSection.QUESTION);
        response.addRecord(DnsSection.QUESTION, q);
        if (!query.opCode().equals(DnsOpCode.QUERY)) {
            response.setCode(DnsResponseCode.NOTIMP);
            count("notimp");
            return;
        }
        NamedVipZone.Answer a = zone.answer(q.name(), q.type().intValue());
        response.setCode(DnsResponseCode.valueOf(a.rcode()));
        response.setAuthoritativeAnswer(a.authoritative());
        int size = 12 + nameSize(q.name()) + 4;
        for (List<NamedVipZone.Rr> section : List.of(a.answers(), a.authority(), a.additional())) {
            for (NamedVipZone.Rr rr : section) {
                size += nameSize(rr.name()) + 10 + rr.rdata().length;
            }
        }
        if (size > sizeLimit) {
            response.setTruncated(true); // the client retries over TCP
            count("truncated");
            return;
        }
        add(response, DnsSection.ANSWER, a.answers());
        add(response, DnsSection.AUTHORITY, a.authority());
        add(response, DnsSection.ADDITIONAL, a.additional());
        count(switch (a.rcode()) {
            case NamedVipZone.NOERROR -> a.answers().isEmpty() ? "nodata" : "noerror";
            case NamedVipZone.NXDOMAIN -> "nxdomain";
            case NamedVipZone.REFUSED -> "refused";
            default -> "other";
        });
    }

    private void count(String result) {
        registry.counter("tandem.namedvip.dns.queries", "result", result).increment();
    }

    private static void add(DnsResponse response, DnsSection section, List<NamedVipZone.Rr> records) {
        for (NamedVipZone.Rr rr : records) {
            response.addRecord(section, new DefaultDnsRawRecord(rr.name() + ".", DnsRecordType.valueOf(rr.type()),
                    rr.ttl(), Unpooled.wrappedBuffer(rr.rdata())));
        }
    }

    private static int nameSize(String name) {
        String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        return n.isEmpty() ? 1 : n.length() + 2;
    }

    private void dropped(ChannelHandlerContext ctx, Throwable cause) {
        malformed.increment();
        log.debug("named-vip dns query dropped remote={} reason=\"{}\"", ctx.channel().remoteAddress(),
                cause.toString());
    }

    /** A handle on the server once it is built (the handlers are created before it is). */
    private interface Self {
        NamedVipDns get();
    }

    @ChannelHandler.Sharable
    private static final class UdpHandler extends SimpleChannelInboundHandler<DatagramDnsQuery> {
        private final Self self;

        UdpHandler(Self self) {
            this.self = self;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
            NamedVipDns dns = self.get();
            if (dns == null) {
                return; // still starting
            }
            DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id(),
                    query.opCode());
            dns.fill(query, response, MAX_UDP_RESPONSE);
            ctx.writeAndFlush(response);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            NamedVipDns dns = self.get();
            if (dns != null) {
                dns.dropped(ctx, cause); // one bad datagram: the socket keeps serving
            }
        }
    }

    private static final class TcpHandler extends SimpleChannelInboundHandler<DnsQuery> {
        private final Self self;

        TcpHandler(Self self) {
            this.self = self;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DnsQuery query) {
            NamedVipDns dns = self.get();
            if (dns == null) {
                ctx.close();
                return;
            }
            DefaultDnsResponse response = new DefaultDnsResponse(query.id(), query.opCode());
            dns.fill(query, response, 65_535);
            ctx.writeAndFlush(response);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof IdleStateEvent) {
                ctx.close();
                return;
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            NamedVipDns dns = self.get();
            if (dns != null) {
                dns.dropped(ctx, cause);
            }
            ctx.close(); // a stream that does not parse cannot be resynchronised
        }
    }
}
