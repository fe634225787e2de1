package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.AgentCheck;
import io.tandem.health.check.AgentReply.Admin;
import io.tandem.health.check.AgentReply.Health;
import io.tandem.health.check.AgentReply.Weight;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Agent checks against a real agent on a TCP port, on every transport. */
class AgentCheckIT extends CheckerITBase {

    private static AgentCheck spec(int port, Duration interval, Optional<String> send) {
        return new AgentCheck(port, Optional.empty(), interval, Duration.ofSeconds(2), send);
    }

    /** Every state a listener heard, in order. */
    private static final class Heard implements AgentListener {
        final List<AgentState> states = new CopyOnWriteArrayList<>();

        @Override
        public void onAgent(AgentState state) {
            states.add(state);
        }

        AgentState last() {
            return states.isEmpty() ? null : states.getLast();
        }
    }

    /** A backend target whose traffic port is irrelevant: the agent check goes to the agent port. */
    private static InetSocketAddress backend() {
        return new InetSocketAddress(Servers.LOOPBACK, 1);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void answersThatChangeOverTimeAreFoldedAndDelivered(TestTransport t) throws Exception {
        AtomicReference<String> answer = new AtomicReference<>("up 100%\n");
        List<String> requests = new CopyOnWriteArrayList<>();
        try (Servers.Tcp agent = new Servers.Tcp((in, out) -> {
            try {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
                    line.write(b);
                }
                requests.add(line.toString(StandardCharsets.ISO_8859_1));
                out.write(answer.get().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        })) {
            HealthChecker c = checker(t);
            Heard heard = new Heard();
            AgentCheck spec = spec(agent.socket.getLocalPort(), Duration.ofMillis(50), Optional.of("orders\n"));
            AgentHandle h = c.watchAgent(backend(), spec, heard);
            await().atMost(Duration.ofSeconds(10)).until(() -> heard.last() != null && heard.last().reachable());
            assertThat(heard.last().weight()).contains(new Weight(100, true));
            assertThat(requests).first().as("agent-send, verbatim").isEqualTo("orders");

            answer.set("drain\r\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> heard.last().admin() == Admin.DRAIN);
            assertThat(heard.last().weight()).as("not advertised: not changed").contains(new Weight(100, true));

            answer.set("50%\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> heard.last().weight().equals(Optional.of(new Weight(50, true))));
            assertThat(heard.last().admin()).isEqualTo(Admin.DRAIN);

            answer.set("down # disk full\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> heard.last().health() == Health.DOWN);
            assertThat(heard.last().reason()).isEqualTo("disk full");
            assertThat(h.state().health()).isEqualTo(Health.DOWN);

            answer.set("up ready\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> heard.last().health() == Health.UP
                    && heard.last().admin() == Admin.READY);
            assertThat(heard.last().weight()).contains(new Weight(50, true));

            // An unchanged answer is not delivered again: the control loop hears changes, not every exchange.
            int delivered = heard.states.size();
            long exchanges = c.agentExchanges(new InetSocketAddress(Servers.LOOPBACK, spec.port()), spec);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> c.agentExchanges(new InetSocketAddress(Servers.LOOPBACK, spec.port()), spec) >= exchanges + 5);
            assertThat(heard.states).hasSize(delivered);
            h.close();
            assertThat(c.activeAgentChecks()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void twoWatchersOfOneAgentShareOneExchangeScheduleAndALateOneLearnsTheStateAtOnce(TestTransport t) throws Exception {
        try (Servers.Tcp agent = Servers.banner("maint\n")) {
            HealthChecker c = checker(t);
            AgentCheck spec = spec(agent.socket.getLocalPort(), Duration.ofMillis(100), Optional.empty());
            Heard a = new Heard();
            Heard b = new Heard();
            // Two backends on the same host (different traffic ports), as two VIPs would watch them.
            AgentHandle ha = c.watchAgent(new InetSocketAddress(Servers.LOOPBACK, 8080), spec, a);
            AgentHandle hb = c.watchAgent(new InetSocketAddress(Servers.LOOPBACK, 8443), spec, b);
            assertThat(c.activeAgentChecks()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> a.last() != null && b.last() != null);
            assertThat(a.last().admin()).isEqualTo(Admin.MAINT);
            assertThat(b.last()).isEqualTo(a.last());
            await().atMost(Duration.ofSeconds(10)).until(() -> agent.accepts.get() >= 5);
            long exchanges = c.agentExchanges(new InetSocketAddress(Servers.LOOPBACK, spec.port()), spec);
            assertThat((long) agent.accepts.get()).as("one connection per exchange, not one per watcher")
                    .isBetween(exchanges - 1, exchanges + 1);

            Heard late = new Heard();
            AgentHandle hl = c.watchAgent(backend(), spec, late);
            await().atMost(Duration.ofSeconds(2)).until(() -> late.last() != null);
            assertThat(late.last().admin()).isEqualTo(Admin.MAINT);

            ha.close();
            hl.close();
            assertThat(c.activeAgentChecks()).isEqualTo(1);
            hb.close();
            assertThat(c.activeAgentChecks()).isZero();
            int after = agent.accepts.get();
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                    .until(() -> agent.accepts.get() <= after + 1);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void anUnreachableAgentChangesNothingButIsReportedAndALaterAnswerApplies(TestTransport t) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, Servers.LOOPBACK)) {
            port = s.getLocalPort(); // closed again: connections to it are refused
        }
        HealthChecker c = checker(t);
        Heard heard = new Heard();
        AgentHandle h = c.watchAgent(backend(), spec(port, Duration.ofMillis(50), Optional.empty()), heard);
        await().atMost(Duration.ofSeconds(10)).until(() -> heard.last() != null);
        AgentState s = heard.last();
        assertThat(s.reachable()).isFalse();
        assertThat(s.problem()).hasValueSatisfying(p -> assertThat(p).contains("refused"));
        assertThat(s.sameEffect(AgentState.INITIAL)).as("nothing set: up, ready, configured weight").isTrue();
        h.close();

        // An agent that closes without a line end, or talks forever without one: ignored, as HAProxy does.
        try (Servers.Tcp silent = new Servers.Tcp((in, out) -> {
            try {
                out.write("drain".getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }); Servers.Tcp endless = new Servers.Tcp((in, out) -> {
            try {
                byte[] junk = "drain ".repeat(1000).getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < 10; i++) {
                    out.write(junk);
                }
                out.write('\n');
            } catch (IOException e) {
                // the probe gave up and reset: expected
            }
        })) {
            Heard cut = new Heard();
            c.watchAgent(backend(), spec(silent.socket.getLocalPort(), Duration.ofMillis(50), Optional.empty()), cut);
            await().atMost(Duration.ofSeconds(10)).until(() -> cut.last() != null);
            assertThat(cut.last().problem()).hasValueSatisfying(p -> assertThat(p).contains("before a line end", "drain"));
            assertThat(cut.last().admin()).isEqualTo(Admin.READY);

            Heard longLine = new Heard();
            c.watchAgent(backend(), spec(endless.socket.getLocalPort(), Duration.ofMillis(50), Optional.empty()), longLine);
            await().atMost(Duration.ofSeconds(10)).until(() -> longLine.last() != null);
            assertThat(longLine.last().problem()).hasValueSatisfying(p -> assertThat(p).contains("no line end in the first"));
            assertThat(longLine.last().admin()).isEqualTo(Admin.READY);
        }
    }
}
