package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.AdminSettings;
import io.tandem.config.HostPort;
import io.tandem.core.control.NodeView;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.transport.Transport;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** AdminClient against a real AdminServer on loopback. */
class AdminClientTest {
    private static final String TOKEN = "t0ken-t0ken-t0ken";
    private static EventLoopGroup group;
    private static Metrics metrics;
    private static FakeNode node;
    private static AdminServer server;
    private static HostPort admin;
    private static final AdminClient client = new AdminClient();

    @BeforeAll
    static void start() {
        group = Transport.nioTransport().newGroup(1, "admin-client-test");
        metrics = new Metrics();
        node = new FakeNode();
        server = AdminServer.start(new AdminSettings(true, new HostPort("127.0.0.1", 0), Optional.of(TOKEN)), group,
                Transport.nioTransport(), node, metrics.registry()).orTimeout(10, TimeUnit.SECONDS).join();
        admin = new HostPort("127.0.0.1", server.localAddress().getPort());
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
        metrics.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void fetchNodeReadsBackExactlyTheViewTheNodeServes() {
        NodeView fetched = client.fetchNode(admin, Optional.of(TOKEN));
        assertThat(fetched).isEqualTo(node.view);
    }

    @Test
    void fetchedViewRendersTheSameTableAsTheOriginal() {
        NodeView fetched = client.fetchNode(admin, Optional.of(TOKEN));
        assertThat(StatusTable.render(fetched)).isEqualTo(StatusTableTest.GOLDEN);
    }

    @Test
    void connectionRefusedSaysWhereAndAsksWhetherTheNodeRuns() throws IOException {
        int closedPort;
        try (var s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        HostPort nowhere = new HostPort("127.0.0.1", closedPort);
        assertThatThrownBy(() -> client.fetchNode(nowhere, Optional.empty()))
                .isInstanceOf(AdminApiException.class)
                .hasMessage("cannot reach admin API at 127.0.0.1:" + closedPort
                        + ": connection refused — is the node running?");
    }

    @Test
    void non200IsAnExceptionWithTheStatusAndTheServersReason() {
        assertThatThrownBy(() -> client.fetchNode(admin, Optional.of("wrong")))
                .isInstanceOf(AdminApiException.class)
                .hasMessageStartingWith("admin API at " + admin + " answered 401: invalid bearer token")
                .satisfies(e -> assertThat(((AdminApiException) e).status()).isEqualTo(401));
    }

    @Test
    void backendActionAndReloadGoThroughTheApi() {
        var drained = client.backendAction(admin, Optional.of(TOKEN), "web", "[::1]:8080", "drain");
        assertThat(drained.address()).isEqualTo("[::1]:8080");
        assertThat(drained.flags()).containsExactly(HealthFlag.DRAINING);

        assertThatThrownBy(() -> client.backendAction(admin, Optional.of(TOKEN), "nope", "10.0.0.1:80", "drain"))
                .isInstanceOf(AdminApiException.class)
                .hasMessageContaining("answered 404: no VIP named \"nope\"");

        assertThat(client.reload(admin, Optional.of(TOKEN))).isEqualTo(node.nextReload);
    }
}
