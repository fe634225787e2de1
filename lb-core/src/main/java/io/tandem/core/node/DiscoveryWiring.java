package io.tandem.core.node;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.ControlLoop;
import io.tandem.core.control.NodeView;
import io.tandem.core.namedvip.NamedVipDns;
import io.tandem.core.transport.Transport;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the node runs around discovery besides the sources themselves: the {@code tandem_discovery_*}
 * metrics and the named-VIP DNS responder. Both follow the node view: after every applied config
 * (the start, a reload, a change of the VIPs discovery declares) the view is read once, off the
 * control loop, and handed to them — sources are created only then, and every named-VIP change
 * is a declared-VIP change.
 */
final class DiscoveryWiring implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DiscoveryWiring.class);

    private final ControlLoop control;
    private final DiscoveryMetrics metrics;
    private final NamedVipDns dns;
    private final AtomicBoolean queued = new AtomicBoolean();
    private volatile boolean closed;

    private DiscoveryWiring(ControlLoop control, DiscoveryMetrics metrics, NamedVipDns dns) {
        this.control = control;
        this.metrics = metrics;
        this.dns = dns;
    }

    /**
     * Starts the DNS responder when {@code discovery.dns} is set (its listen address needs a
     * restart to change) and follows the control loop from now on.
     *
     * @throws Node.StartException naming {@code discovery.dns.listen} when the responder cannot bind
     */
    static DiscoveryWiring start(TandemConfig config, ControlLoop control, EventLoopGroup workers, Transport transport,
                                 MeterRegistry registry) throws Node.StartException {
        requireNonNull(control, "control");
        NamedVipDns dns;
        try {
            dns = config.discovery().dns().map(d -> NamedVipDns.start(d, workers, transport, registry)).orElse(null);
        } catch (IllegalStateException e) {
            throw new Node.StartException(e.getMessage(), e);
        }
        DiscoveryWiring w = new DiscoveryWiring(control, new DiscoveryMetrics(registry), dns);
        control.addApplyListener(c -> w.refreshSoon());
        w.refreshSoon();
        return w;
    }

    /** The responder's UDP address (its TCP one has the same port), when it runs. */
    Optional<InetSocketAddress> dnsAddress() {
        return Optional.ofNullable(dns).map(NamedVipDns::udpAddress);
    }

    /**
     * Reads the view on a virtual thread: apply listeners run on the control loop, which must not
     * wait on itself. Requests while one is queued coalesce.
     */
    private void refreshSoon() {
        if (closed || !queued.compareAndSet(false, true)) {
            return;
        }
        Thread.ofVirtual().name("tandem-discovery-follow").start(() -> {
            queued.set(false);
            try {
                NodeView view = control.view();
                metrics.sync(view.sources());
                if (dns != null) {
                    dns.update(view.namedVips());
                }
            } catch (RuntimeException e) {
                if (!closed) {
                    log.warn("discovery view not read reason=\"{}\"", e.toString());
                }
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        if (dns != null) {
            dns.close();
        }
    }
}
