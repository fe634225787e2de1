package io.tandem.core.control;

import io.tandem.core.testing.Dnsmasq;

import static io.tandem.core.control.UdpThroughNodeIT.freeUdpPort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.tandem.config.HostPort;
import io.tandem.config.RuntimeSettings;
import io.tandem.core.control.NameTable.Answer;
import io.tandem.core.control.NameTable.Failed;
import io.tandem.core.control.NameTable.Found;
import io.tandem.core.control.NameTable.NotFound;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DNS client against a real DNS server (dnsmasq): addresses come with the TTL the server
 * gave, and the answers that mean "this name has no address" (NXDOMAIN, no record) are told
 * apart from those that say nothing about the name (REFUSED, no answer), which must never empty
 * a pool.
 */
class DnsClientIT {
    @TempDir
    Path dir;
    private EventLoopGroup group;
    private Dnsmasq dns;

    @BeforeEach
    void start() throws Exception {
        assumeTrue(Dnsmasq.BINARY != null,
                "dnsmasq not installed (apt-get install dnsmasq-base; .ci/run installs it): skipping the real DNS test");
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        dns = Dnsmasq.start(Dnsmasq.freePort(), dir.resolve("hosts"), 7, "127.0.0.2 web.tandem.test",
                "127.0.0.3 multi.tandem.test", "127.0.0.4 multi.tandem.test", "::1 six.tandem.test");
    }

    @AfterEach
    void stop() {
        if (dns != null) {
            dns.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private DnsClient client(int port, Path hosts) {
        RuntimeSettings.Dns settings = new RuntimeSettings.Dns(List.of(HostPort.of("127.0.0.1", port)),
                Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofMillis(300));
        return new DnsClient(settings, group, NioDatagramChannel.class, NioSocketChannel.class,
                new DnsClient.HostsFile(hosts));
    }

    private static Answer lookup(DnsClient c, String name) throws Exception {
        return c.lookup(name).get(10, TimeUnit.SECONDS);
    }

    @Test
    void addressesComeWithTheTtlTheServerGave() throws Exception {
        DnsClient c = client(dns.port, dir.resolve("no-hosts"));
        await().atMost(Duration.ofSeconds(10)).until(() -> lookup(c, "web.tandem.test") instanceof Found);
        assertThat(lookup(c, "web.tandem.test"))
                .isEqualTo(new Found(List.of(InetAddress.ofLiteral("127.0.0.2")), Duration.ofSeconds(7)));
        assertThat(((Found) lookup(c, "multi.tandem.test")).addresses())
                .containsExactlyInAnyOrder(InetAddress.ofLiteral("127.0.0.3"), InetAddress.ofLiteral("127.0.0.4"));
        assertThat(((Found) lookup(c, "six.tandem.test")).addresses()).as("AAAA when there is no A record")
                .containsExactly(InetAddress.ofLiteral("::1"));
    }

    @Test
    void nxdomainMeansTheNameHasNoAddress() throws Exception {
        DnsClient c = client(dns.port, dir.resolve("no-hosts"));
        await().atMost(Duration.ofSeconds(10)).until(() -> lookup(c, "web.tandem.test") instanceof Found);
        assertThat(lookup(c, "nope.tandem.test")).isEqualTo(new NotFound("NXDOMAIN"));
    }

    @Test
    void aRefusedQueryOrASilentServerSaysNothingAboutTheName() throws Exception {
        DnsClient c = client(dns.port, dir.resolve("no-hosts"));
        await().atMost(Duration.ofSeconds(10)).until(() -> lookup(c, "web.tandem.test") instanceof Found);
        Answer refused = lookup(c, "web.example.org");
        assertThat(refused).isInstanceOf(Failed.class);
        assertThat(((Failed) refused).reason()).contains("REFUSED");

        DnsClient silent = client(freeUdpPort(), dir.resolve("no-hosts")); // nothing listens there
        Answer none = lookup(silent, "web.tandem.test");
        assertThat(none).isInstanceOf(Failed.class);
        assertThat(((Failed) none).reason()).contains("no answer within 300 ms");
    }

    @Test
    void theHostsFileComesFirstAndIsReadAgainWhenItChanges() throws Exception {
        Path hosts = dir.resolve("etc-hosts");
        Files.writeString(hosts, "127.0.0.9 web.tandem.test\n");
        DnsClient c = client(dns.port, hosts);
        assertThat(lookup(c, "WEB.tandem.test"))
                .isEqualTo(new Found(List.of(InetAddress.ofLiteral("127.0.0.9")), Duration.ofSeconds(30)));
        Files.writeString(hosts, "127.0.0.10 web.tandem.test\n# rewritten\n");
        assertThat(((Found) lookup(c, "web.tandem.test")).addresses()).containsExactly(InetAddress.ofLiteral("127.0.0.10"));
        Files.writeString(hosts, "");
        await().atMost(Duration.ofSeconds(10)).until(() -> lookup(c, "web.tandem.test").equals(
                new Found(List.of(InetAddress.ofLiteral("127.0.0.2")), Duration.ofSeconds(7))));
    }
}
