package io.tandem.health.check;


import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.tandem.config.CheckPayloads;
import io.tandem.config.CheckTiming;
import io.tandem.config.HealthCheckSpec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Everything about a check that does not change between probes, prepared (and validated) once
 * per shared check: the probe address, the bootstrap, compiled patterns and encoded payloads.
 */
final class ProbeTemplate {

    private final HealthCheckSpec spec;
    private final InetSocketAddress address;
    private final Duration timeout;
    /** The watch connection's bootstrap (it relies on Netty's connect timeout: it has no timer of its own). */
    private final Bootstrap bootstrap;
    /**
     * The probes' bootstrap: as {@link #bootstrap}, without Netty's connect timer (each probe's own
     * hard timer already bounds the connect: a second timer per probe was pure cost).
     */
    private final Bootstrap probeBootstrap;
    /** {@link #probeBootstrap} bound to the loop of the check and, for TCP, its handler; built on first use. */
    private Bootstrap boundProbeBootstrap;  // confined to the check's loop
    private EventLoop boundLoop;
    private final SslContext ssl;
    private final byte[] send;
    private final byte[] expectPrefix;
    private final Pattern expectRegex;
    private final byte[] httpRequest;

    ProbeTemplate(InetSocketAddress target, HealthCheckSpec spec, Class<? extends SocketChannel> socketChannel,
                  Class<? extends DatagramChannel> datagramChannel, Supplier<SslContext> tls) {
        this.spec = spec;
        int port = spec.port().orElse(target.getPort());
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected 1..65535)");
        }
        this.address = port == target.getPort() ? target : new InetSocketAddress(target.getAddress(), port);
        this.timeout = spec.timing().timeout();
        int timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        Bootstrap b = new Bootstrap();
        SslContext sslContext = null;
        byte[] sendBytes = null;
        byte[] prefix = null;
        Pattern regex = null;
        byte[] request = null;
        switch (spec) {
            case HealthCheckSpec.Tcp t -> b.channel(socketChannel);
            case HealthCheckSpec.Http h -> {
                b.channel(socketChannel);
                if (h.statusMin() < 100 || h.statusMax() > 599 || h.statusMin() > h.statusMax()) {
                    throw new IllegalArgumentException("status: " + h.statusMin() + ".." + h.statusMax()
                            + " (expected a range within 100..599)");
                }
                if (!h.path().startsWith("/")) {
                    throw new IllegalArgumentException("path: \"" + h.path() + "\" (expected to start with /)");
                }
                if (h.method().isBlank() || !h.method().chars().allMatch(c -> c > 32 && c < 127)) {
                    throw new IllegalArgumentException("method: \"" + h.method() + "\" (expected an HTTP method token)");
                }
                if (h.tls()) {
                    sslContext = tls.get();
                }
                request = HttpProbe.request(h, address);
            }
            case HealthCheckSpec.SendExpect s -> {
                b.channel(socketChannel);
                sendBytes = s.send().map(CheckPayloads::bytes).orElse(null);
                if (s.expect().isEmpty()) {
                    throw new IllegalArgumentException("expect: \"\" (expected a non-empty string or regex)");
                }
                if (s.regex()) {
                    try {
                        regex = Pattern.compile(s.expect());
                    } catch (PatternSyntaxException e) {
                        throw new IllegalArgumentException("expect: \"" + s.expect() + "\" (expected a valid regex: "
                                + e.getDescription() + ")");
                    }
                } else {
                    prefix = CheckPayloads.bytes(s.expect());
                }
            }
            case HealthCheckSpec.Udp u -> {
                b.channel(datagramChannel);
                // send and expect are byte strings (one char per byte, escapes decoded by the
                // config): a UTF-8 encoding would turn \x85 into two bytes, C2 85.
                sendBytes = CheckPayloads.bytes(u.send());
                prefix = u.expect().filter(x -> !x.isEmpty()).map(CheckPayloads::bytes).orElse(null);
            }
        }
        if (!(spec instanceof HealthCheckSpec.Udp)) {
            b.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis)
                    .option(ChannelOption.TCP_NODELAY, true)
                    // Close probe connections with a reset, as HAProxy does: no TIME_WAIT pile-up
                    // on the balancer from fast checks on many backends.
                    .option(ChannelOption.SO_LINGER, 0);
        }
        this.bootstrap = b;
        this.probeBootstrap = spec instanceof HealthCheckSpec.Udp ? b : b.clone().option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 0);
        this.ssl = sslContext;
        this.send = sendBytes;
        this.expectPrefix = prefix;
        this.expectRegex = regex;
        this.httpRequest = request;
    }

    InetSocketAddress address() {
        return address;
    }

    /** Whether checks of this template hold a watch connection ({@link CheckTiming.Watch}). */
    boolean watches() {
        return switch (spec.timing().watch()) {
            case ON -> !(spec instanceof HealthCheckSpec.Udp);
            case OFF -> false;
            case AUTO -> spec instanceof HealthCheckSpec.Tcp;
        };
    }

    /** Opens a watch connection to the probe address; {@code lost} runs once when it ends. */
    WatchConnection newWatch(EventLoop loop, BiConsumer<WatchConnection, String> lost) {
        return new WatchConnection(bootstrap, loop, address, lost);
    }

    /** A probe on {@code loop}; called on that loop (a shared check always passes its own). */
    Probe newProbe(EventLoop loop, Consumer<Probe.Outcome> done) {
        Bootstrap b = bound(loop);
        return switch (spec) {
            case HealthCheckSpec.Tcp t -> new TcpConnectProbe(b, loop, address, timeout, done);
            case HealthCheckSpec.Http h -> new HttpProbe(b, loop, address, timeout, h, ssl, httpRequest, done);
            case HealthCheckSpec.SendExpect s ->
                    new SendExpectProbe(b, loop, address, timeout, send, expectPrefix, expectRegex, done);
            case HealthCheckSpec.Udp u -> new UdpProbe(b, loop, address, timeout, send, expectPrefix, done);
        };
    }

    /**
     * The probe bootstrap bound to {@code loop}, made once per check rather than cloned per probe;
     * a TCP connect probe needs no handler of its own, so its bootstrap carries a shared one and
     * each probe is a bare {@code connect}.
     */
    private Bootstrap bound(EventLoop loop) {
        if (boundLoop != loop) {
            Bootstrap b = probeBootstrap.clone(loop);
            if (spec instanceof HealthCheckSpec.Tcp) {
                b.handler(TcpConnectProbe.IGNORE);
            }
            boundProbeBootstrap = b;
            boundLoop = loop;
        }
        return boundProbeBootstrap;
    }

    static String kind(HealthCheckSpec spec) {
        return switch (spec) {
            case HealthCheckSpec.Tcp t -> "tcp";
            case HealthCheckSpec.Http h -> h.tls() ? "https" : "http";
            case HealthCheckSpec.SendExpect s -> "send_expect";
            case HealthCheckSpec.Udp u -> "udp";
        };
    }
}
