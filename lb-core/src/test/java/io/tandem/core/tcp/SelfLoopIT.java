package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.RecordingEvents;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.vip.SelfLoops;
import java.io.IOException;
import java.io.InputStream;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A VIP that proxies to itself (issue #15, item 8): the connection that would loop is cut at
 * once, the client sees a prompt close, no descriptor stays held, and the backend is reported as
 * a self-loop, never as a failing backend. Before the fix one client connection made the node
 * connect to itself until it ran out of descriptors. Run on every engine.
 *
 * <p>Descriptor counts are this JVM's ({@code /proc/self/fd}), before and after each scenario.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class SelfLoopIT extends PerTransportIT {
    /** Descriptors this JVM may gain over a scenario for reasons of its own (lazily opened files). */
    private static final int FD_SLACK = 6;

    SelfLoopIT(TransportKind transport) {
        super(transport);
    }

    @BeforeEach
    void needsProc() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc");
    }

    @Test
    void aBackendThatIsTheVipsOwnAddressIsCutBeforeAnySocketIsOpened() throws Exception {
        int port = freePort();
        RecordingEvents events = new RecordingEvents();
        ProxyFixture proxy = track(ProxyFixture.builder(transport).listen("127.0.0.1", port)
                .backend(new InetSocketAddress("127.0.0.1", port)).events(events).start());
        closedPromptly(proxy.address()); // warm up (classes, lazily opened files)
        int before = openFds();

        for (int i = 0; i < 20; i++) {
            assertThat(closedPromptly(proxy.address())).as("client %d closed without a byte", i).isTrue();
        }

        awaitFds(before);
        assertThat(events.selfLoops).hasSize(21).containsOnly("t=127.0.0.1:" + port);
        assertThat(events.connectFailed).as("connect failures reported: %s", events.connectFailures).hasValue(0);
        assertThat(events.connected).hasValue(0);
        assertThat(proxy.vip.stats().selfLoops.sum()).isEqualTo(21);
        assertThat(proxy.backends.getFirst().stats().connectFailures.sum()).isZero();
        awaitNothingTracked();
    }

    @Test
    void aClientIsServedByTheOtherBackendsWhenOneOfThemIsTheVipItself() throws Exception {
        int port = freePort();
        TestBackend echo = track(TestBackend.start(TestBackend.Mode.ECHO));
        RecordingEvents events = new RecordingEvents();
        ProxyFixture proxy = track(ProxyFixture.builder(transport).listen("127.0.0.1", port)
                .backend(new InetSocketAddress("127.0.0.1", port)).backend(echo.address()).events(events).start());

        for (int i = 0; i < 20; i++) {
            assertThat(echo(proxy.address(), "m" + i)).isEqualTo("m" + i);
        }

        assertThat(events.selfLoops).isNotEmpty().containsOnly("t=127.0.0.1:" + port);
        assertThat(events.connectFailed).hasValue(0);
        assertThat(proxy.vip.stats().connectRetries.sum()).as("a skipped self-loop is not a retry").isZero();
        assertThat(proxy.vip.stats().noBackend.sum()).isZero();
    }

    /**
     * A wildcard listener reached through one of the host's own (non-loopback) addresses: known
     * as the host's once its addresses were read (off the event loops, when the listener was
     * bound), so cut before connecting too. (Before they are known, it is cut when it arrives
     * back: {@code io.tandem.core.vip.SelfLoopArrivalIT}.)
     */
    @Test
    void aWildcardListenerReachedThroughOneOfTheHostsAddressesIsCutBeforeConnecting() throws Exception {
        Optional<InetAddress> own = ownNonLoopbackAddress();
        assumeTrue(own.isPresent(), "no non-loopback IPv4 address on this host");
        int port = freePort();
        RecordingEvents events = new RecordingEvents();
        InetSocketAddress backend = new InetSocketAddress(own.get(), port);
        ProxyFixture proxy = track(ProxyFixture.builder(transport).listen("0.0.0.0", port)
                .backend(backend).events(events).start());
        await().atMost(Duration.ofSeconds(10)).until(() -> SelfLoops.check(SelfLoops.Proto.TCP, backend, proxy.vip,
                null) == SelfLoops.Check.LOOP); // the host's addresses were read
        InetSocketAddress vip = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        closedPromptly(vip);
        int before = openFds();

        for (int i = 0; i < 20; i++) {
            assertThat(closedPromptly(vip)).as("client %d closed without a byte", i).isTrue();
        }

        awaitFds(before);
        assertThat(events.selfLoops).hasSize(21).containsOnly("t=" + own.get().getHostAddress() + ":" + port);
        assertThat(events.connectFailed).as("connect failures reported: %s", events.connectFailures).hasValue(0);
        assertThat(events.connected).hasValue(0);
        awaitNothingTracked();
    }

    /** A → B → A: the loop is cut where the flow would enter a VIP it already passed through. */
    @Test
    void aLoopThroughTwoVipsIsCut() throws Exception {
        int portA = freePort();
        int portB = freePort();
        RecordingEvents events = new RecordingEvents();
        ProxyFixture a = track(ProxyFixture.builder(transport).name("a").listen("127.0.0.1", portA)
                .backend(new InetSocketAddress("127.0.0.1", portB)).events(events).start());
        track(ProxyFixture.builder(transport).name("b").listen("127.0.0.1", portB)
                .backend(new InetSocketAddress("127.0.0.1", portA)).events(events).start());
        closedPromptly(a.address());
        int before = openFds();

        for (int i = 0; i < 20; i++) {
            assertThat(closedPromptly(a.address())).as("client %d closed without a byte", i).isTrue();
        }

        awaitFds(before);
        // A's socket to B is registered before its connect, so B knows where the flow came from:
        // B's backend (A) closes the loop, and B never opens a socket for it. (An arrival that beats
        // its registration, e.g. the very first one on a cold loop, is caught one hop later, at A.)
        assertThat(events.selfLoops).hasSize(21)
                .allMatch(e -> e.equals("b=127.0.0.1:" + portA) || e.equals("a=127.0.0.1:" + portB))
                .filteredOn(e -> e.startsWith("b=")).hasSizeGreaterThanOrEqualTo(15);
        // A loop caught one hop late (above) marks B's hop looped before A resets B's connect, so
        // B never takes that reset for its backend's failure: no loop counts as a failed connect.
        assertThat(events.connectFailed.get()).as("connect failures reported: %s", events.connectFailures).isZero();
        awaitNothingTracked();
    }

    /**
     * Connects, sends a line and waits for the proxy to close the connection: true when it was
     * closed (reset or EOF) without a byte within 3 s.
     */
    private static boolean closedPromptly(InetSocketAddress address) throws IOException {
        try (Socket s = new Socket()) {
            try {
                s.connect(address, 2000); // may already see the reset
                s.setSoTimeout(3000);
                s.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                return in.read() < 0;
            } catch (SocketException e) {
                return true; // reset
            } catch (SocketTimeoutException e) {
                return false;
            }
        }
    }

    private static String echo(InetSocketAddress address, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(address, 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.US_ASCII);
        }
    }

    private static int openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        }
    }

    /** The connections of a scenario are gone: this JVM holds about as many descriptors as before it. */
    private static void awaitFds(int before) {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(openFds())
                .as("descriptors of this JVM (before the scenario: %d)", before).isLessThanOrEqualTo(before + FD_SLACK));
    }

    private static void awaitNothingTracked() {
        await().atMost(Duration.ofSeconds(10)).until(() -> !SelfLoops.tracking(SelfLoops.Proto.TCP));
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
