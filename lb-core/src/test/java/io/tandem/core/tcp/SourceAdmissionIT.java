package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.AccessControl;
import io.tandem.config.Cidr;
import io.tandem.config.Limits;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Admission by client address on real loopback sockets, per transport: the VIP's source ACL
 * (clients bind 127.0.0.2 allowed, 127.0.0.3 denied by a longer prefix, 127.0.0.4 outside every
 * prefix of an allow list) and per-client limits; the refused ones see a reset and the backend
 * never sees them.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class SourceAdmissionIT extends PerTransportIT {

    SourceAdmissionIT(TransportKind transport) {
        super(transport);
    }

    private static Cidr cidr(String s) {
        return Cidr.parse(s).cidr().orElseThrow();
    }

    /** Connects from {@code source}, writes and reads back "ping": the answer, or "refused" when the proxy reset or closed. */
    private static String pingFrom(String source, InetSocketAddress proxy) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(InetAddress.ofLiteral(source), 0));
            s.setSoTimeout(5_000);
            try {
                s.connect(proxy, 5_000);
                s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                byte[] in = s.getInputStream().readNBytes(4);
                return in.length == 4 ? new String(in, StandardCharsets.US_ASCII) : "refused";
            } catch (SocketException e) {
                if (e.getMessage() != null && (e.getMessage().contains("reset") || e.getMessage().contains("Broken pipe"))) {
                    return "refused";
                }
                throw e;
            }
        }
    }

    @Test
    void refusedClientsAreResetBeforeAnyBackendAndAdmittedOnesAreServed() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        AccessControl acl = new AccessControl(List.of(cidr("127.0.0.0/30")), List.of(cidr("127.0.0.3")));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address()).acl(acl).start());

        assertThat(pingFrom("127.0.0.2", proxy.address())).isEqualTo("ping");
        assertThat(pingFrom("127.0.0.3", proxy.address())).as("denied by the longer prefix").isEqualTo("refused");
        assertThat(pingFrom("127.0.0.4", proxy.address())).as("outside the allow list").isEqualTo("refused");
        assertThat(pingFrom("127.0.0.1", proxy.address())).isEqualTo("ping");

        assertThat(echo.accepted()).as("the backend saw only the admitted clients").isEqualTo(2);
        assertThat(proxy.vip.stats().aclRefused.sum()).isEqualTo(2);
        assertThat(proxy.vip.stats().totalConnections.sum()).isEqualTo(2);
    }

    @Test
    void aClientOverItsConcurrentLimitIsResetWhileOthersAreServed() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        Limits limits = new Limits(0, 0, new Limits.PerClient(2, 0, 32, 64, 1000));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address()).limits(limits).start());
        try (Socket a = heldFrom("127.0.0.2", proxy.address()); Socket b = heldFrom("127.0.0.2", proxy.address())) {
            assertThat(pingFrom("127.0.0.2", proxy.address())).as("a third at once").isEqualTo("refused");
            assertThat(pingFrom("127.0.0.5", proxy.address())).as("another client").isEqualTo("ping");
            assertThat(proxy.vip.stats().clientConnectionsRefused.sum()).isEqualTo(1);
        }
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> proxy.vip.clients().open(InetAddress.ofLiteral("127.0.0.2"), limits.perClient()) == 0);
        assertThat(pingFrom("127.0.0.2", proxy.address())).as("after its connections closed").isEqualTo("ping");
    }

    /** A connection from {@code source} through the proxy, proven up by one round trip, left open. */
    private static Socket heldFrom(String source, InetSocketAddress proxy) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.ofLiteral(source), 0));
        s.setSoTimeout(5_000);
        s.connect(proxy, 5_000);
        s.getOutputStream().write("held".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("held");
        return s;
    }
}
