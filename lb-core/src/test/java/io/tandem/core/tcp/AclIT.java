package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.AccessControl;
import io.tandem.config.Cidr;
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
 * A VIP's source ACL on real loopback sockets, per transport: clients bind distinct loopback
 * source addresses (127.0.0.2 allowed, 127.0.0.3 denied by a longer prefix, 127.0.0.4 outside
 * every prefix of an allow list); the refused ones see a reset and the backend never sees them.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class AclIT extends PerTransportIT {

    AclIT(TransportKind transport) {
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
}
