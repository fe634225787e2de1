package io.tandem.core.vip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.RecordingEvents;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The second line of {@link SelfLoops}: a loop the node could not recognise before connecting
 * (here: a wildcard listener reached through one of the host's addresses while the host's
 * addresses are not used, as for an address added a moment ago) is cut when its connection
 * arrives back from the node's own socket. The client sees a prompt close, descriptors do not
 * pile up, and the backend is reported as a self-loop.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class SelfLoopArrivalIT {
    private final TransportKind transport;
    private ProxyFixture proxy;

    SelfLoopArrivalIT(TransportKind transport) {
        this.transport = transport;
    }

    @BeforeEach
    void setUp() {
        assumeTrue(transport.available(), "epoll unavailable");
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc");
        SelfLoops.useHostAddresses(false);
    }

    @AfterEach
    void tearDown() {
        SelfLoops.useHostAddresses(true);
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    void aLoopThroughAnAddressNotKnownAsTheHostsIsCutWhenItArrivesBack() throws Exception {
        Optional<InetAddress> own = ownNonLoopbackAddress();
        assumeTrue(own.isPresent(), "no non-loopback IPv4 address on this host");
        int port = freePort();
        RecordingEvents events = new RecordingEvents();
        InetSocketAddress backend = new InetSocketAddress(own.get(), port);
        proxy = ProxyFixture.builder(transport).listen("0.0.0.0", port).backend(backend).events(events).start();
        assertThat(SelfLoops.check(SelfLoops.Proto.TCP, backend, proxy.vip, null)).isEqualTo(SelfLoops.Check.TRACK);
        InetSocketAddress vip = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        closedPromptly(vip);
        int before = openFds();

        for (int i = 0; i < 20; i++) {
            assertThat(closedPromptly(vip)).as("client %d closed without a byte", i).isTrue();
        }

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(openFds())
                .as("descriptors of this JVM (before: %d)", before).isLessThanOrEqualTo(before + 6));
        // One report per client: the arrival that closed the loop (a few hops in at worst).
        assertThat(events.selfLoops).hasSizeBetween(21, 21 * 4)
                .containsOnly("t=" + own.get().getHostAddress() + ":" + port);
        assertThat(proxy.vip.stats().selfLoops.sum()).isEqualTo(events.selfLoops.size());
        await().atMost(Duration.ofSeconds(10)).until(() -> !SelfLoops.tracking(SelfLoops.Proto.TCP));
    }

    private static boolean closedPromptly(InetSocketAddress address) throws IOException {
        try (Socket s = new Socket()) {
            try {
                s.connect(address, 2000);
                s.setSoTimeout(3000);
                s.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
                return s.getInputStream().read() < 0;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (SocketException e) {
                return true; // reset
            }
        }
    }

    private static int openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Optional<InetAddress> ownNonLoopbackAddress() throws SocketException {
        return NetworkInterface.networkInterfaces().filter(n -> {
            try {
                return n.isUp() && !n.isLoopback();
            } catch (SocketException e) {
                return false;
            }
        }).flatMap(NetworkInterface::inetAddresses).filter(a -> a instanceof Inet4Address && !a.isLinkLocalAddress())
                .findFirst();
    }
}
