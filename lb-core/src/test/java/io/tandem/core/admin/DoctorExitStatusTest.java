package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.AdminSettings;
import io.tandem.config.HostPort;
import io.tandem.core.cli.TandemMain;
import io.tandem.core.control.PostureReport;
import io.tandem.core.control.PostureReport.Finding;
import io.tandem.core.control.PostureReport.Severity;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.transport.Transport;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code tandem doctor}'s exit status over a real admin server: 0 when no finding is a WARN (INFO
 * findings included), 1 when one is, 3 when the node cannot be reached.
 */
class DoctorExitStatusTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void group() {
        group = Transport.nioTransport().newGroup(1, "doctor-test");
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static int doctor(PostureReport report, StringWriter out) {
        FakeNode node = new FakeNode() {
            @Override
            public PostureReport posture() {
                return report;
            }
        };
        try (Metrics metrics = new Metrics()) {
            AdminServer server = AdminServer.start(new AdminSettings(true, new HostPort("127.0.0.1", 0), Optional.empty()),
                    group, Transport.nioTransport(), node, metrics.registry()).orTimeout(10, TimeUnit.SECONDS).join();
            try {
                CommandLine cl = TandemMain.newCommandLine();
                cl.setOut(new PrintWriter(out));
                cl.setErr(new PrintWriter(out));
                return cl.execute("doctor", "--admin", "127.0.0.1:" + server.localAddress().getPort());
            } finally {
                server.close();
            }
        }
    }

    private static Finding finding(Severity severity) {
        return new Finding("zones-unknown", severity, "vip orders", "orders", "detail", "todo");
    }

    @Test
    void noWarningExitsZeroEvenWithInfoFindings() {
        StringWriter out = new StringWriter();
        assertThat(doctor(new PostureReport(Instant.EPOCH, List.of(finding(Severity.INFO)), List.of()), out))
                .as(out.toString()).isZero();
        assertThat(out.toString()).startsWith("0 WARN, 1 INFO").contains("INFO zones-unknown  vip orders");
    }

    @Test
    void aWarningExitsOne() {
        StringWriter out = new StringWriter();
        assertThat(doctor(new PostureReport(Instant.EPOCH, List.of(finding(Severity.WARN)), List.of()), out))
                .as(out.toString()).isEqualTo(1);
    }

    @Test
    void nothingFoundExitsZero() {
        StringWriter out = new StringWriter();
        assertThat(doctor(new PostureReport(Instant.EPOCH, List.of(), List.of()), out)).isZero();
        assertThat(out.toString()).isEqualTo("no single point of failure found\n");
    }

    @Test
    void aNodeThatCannotBeReachedExitsThree() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        StringWriter out = new StringWriter();
        CommandLine cl = TandemMain.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(out));
        assertThat(cl.execute("doctor", "--admin", "127.0.0.1:" + port)).isEqualTo(3);
        assertThat(out.toString()).contains("cannot reach admin API");
    }
}
