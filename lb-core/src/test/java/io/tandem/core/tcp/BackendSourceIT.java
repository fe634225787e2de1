package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.config.BackendSource;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.vip.LocalErrors;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code vips[].source} on real loopback sockets: the backend sees every proxied connection come
 * from the configured address and port range (the epoll transport binds with IP_FREEBIND,
 * IP_BIND_ADDRESS_NO_PORT and IP_LOCAL_PORT_RANGE), {@code vip} means the VIP's own listen
 * address, and a range that runs out is the node's own error: the client is reset, the backend
 * is not blamed. NIO binds an address but refuses a range (as the node's error too).
 */
@ExtendWith(LeakWatcher.class)
class BackendSourceIT {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final BlockingQueue<InetSocketAddress> seen = new LinkedBlockingQueue<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    /** An echo backend that records each connection's remote (the proxy's source) address. */
    private InetSocketAddress backend() throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        closeables.add(server);
        Thread.ofPlatform().daemon().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    closeables.add(s);
                    seen.add((InetSocketAddress) s.getRemoteSocketAddress());
                    Thread.ofPlatform().daemon().start(() -> {
                        byte[] b = new byte[4096];
                        try {
                            for (int n; (n = s.getInputStream().read(b)) > 0; ) {
                                s.getOutputStream().write(b, 0, n);
                            }
                        } catch (IOException e) {
                            // closed
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
    }

    private ProxyFixture proxy(TransportKind kind, String listen, BackendSource source) throws IOException {
        assumeTrue(kind.available(), "epoll unavailable");
        ProxyFixture p = ProxyFixture.builder(kind).listen(listen, 0).backend(backend()).retries(2).source(source).start();
        closeables.add(p);
        return p;
    }

    /** A connection through the proxy, proven by a round trip, left open; null when the proxy reset it. */
    private Socket held(InetSocketAddress proxy) throws IOException {
        Socket s = new Socket();
        closeables.add(s);
        s.setSoTimeout(5_000);
        try {
            s.connect(proxy, 5_000); // a reset can beat the connect's return (NIO refuses at once)
            s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            byte[] in = s.getInputStream().readNBytes(4);
            return in.length == 4 ? s : null;
        } catch (SocketException e) {
            return null;
        }
    }

    @Test
    void theBackendSeesEveryConnectionFromTheConfiguredAddressAndRange() throws Exception {
        ProxyFixture p = proxy(TransportKind.EPOLL, "127.0.0.1",
                BackendSource.of(InetAddress.ofLiteral("127.0.0.7"), 41_000, 41_009));
        for (int i = 0; i < 6; i++) {
            assertThat(held(p.address())).as("connection %d", i).isNotNull();
            InetSocketAddress from = seen.poll(5, TimeUnit.SECONDS);
            assertThat(from.getAddress()).isEqualTo(InetAddress.ofLiteral("127.0.0.7"));
            assertThat(from.getPort()).isBetween(41_000, 41_009);
        }
        assertThat(p.vip.localErrors().total()).isZero();
    }

    @Test
    void vipMeansTheVipsOwnListenAddressAndWithoutARangeTheKernelPicksThePort() throws Exception {
        ProxyFixture p = proxy(TransportKind.EPOLL_FALLBACK, "127.0.0.9", BackendSource.of(null, 0, 0));
        assertThat(held(p.address())).isNotNull();
        InetSocketAddress from = seen.poll(5, TimeUnit.SECONDS);
        assertThat(from.getAddress()).isEqualTo(InetAddress.ofLiteral("127.0.0.9"));
        assertThat(from.getPort()).isBetween(32_768, 60_999); // the kernel's ephemeral range here
    }

    @Test
    void aRangeThatRunsOutResetsTheClientAsTheNodesOwnErrorAndBlamesNoBackend() throws Exception {
        ProxyFixture p = proxy(TransportKind.EPOLL, "127.0.0.1",
                BackendSource.of(InetAddress.ofLiteral("127.0.0.7"), 41_100, 41_101));
        assertThat(held(p.address())).isNotNull();
        assertThat(held(p.address())).isNotNull();
        assertThat(held(p.address())).as("a third connection: both ports in use towards this backend").isNull();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> p.vip.localErrors().total() == 1);
        assertThat(p.vip.localErrors().kinds()).containsExactly(new LocalErrors.Kind(LocalErrors.Op.CONNECT, "EADDRNOTAVAIL"));
        assertThat(p.backends).allSatisfy(b -> assertThat(b.stats().connectFailures.sum()).as("not the backend's").isZero());
        assertThat(p.vip.stats().connectRetries.sum()).as("no retry: it would hit the same limit").isZero();
        assertThat(seen).hasSize(2);
    }

    @Test
    void nioBindsAnAddressButRefusesARangeAsTheNodesOwnError() throws Exception {
        ProxyFixture a = proxy(TransportKind.NIO, "127.0.0.1", BackendSource.of(InetAddress.ofLiteral("127.0.0.7"), 0, 0));
        assertThat(held(a.address())).isNotNull();
        assertThat(seen.poll(5, TimeUnit.SECONDS).getAddress()).isEqualTo(InetAddress.ofLiteral("127.0.0.7"));
        ProxyFixture b = proxy(TransportKind.NIO, "127.0.0.1",
                BackendSource.of(InetAddress.ofLiteral("127.0.0.7"), 41_200, 41_209));
        assertThat(held(b.address())).isNull();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> b.vip.localErrors().total() == 1);
        assertThat(b.backends).allSatisfy(x -> assertThat(x.stats().connectFailures.sum()).isZero());
    }
}
