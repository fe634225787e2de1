package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.control.GrayBackend.Behaviour;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A backend that accepts every connection and then ends it before answering
 * ({@code outlier_detection.closed_before_response}), through a real node on real sockets: a
 * TCP check passes and every connect succeeds, so only this signal can eject it. The client's
 * own aborts and orderly closes that a protocol may make are not held against a backend.
 */
class ClosedBeforeResponseIT {

    private static Node start(String yaml) throws Exception {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        return Node.start(Node.Options.fixed("t", ((ConfigResult.Valid) r).config()));
    }

    private static String config(int vip, String outlier, GrayBackend... backends) {
        StringBuilder list = new StringBuilder();
        for (GrayBackend b : backends) {
            list.append(list.isEmpty() ? "" : ", ").append(b.address());
        }
        return """
                admin: {enabled: false}
                vips:
                  - name: a
                    listen: 127.0.0.1:%d
                    policy: round-robin
                    retries: 2
                    backends: [%s]
                    outlier_detection: {%s}
                """.formatted(vip, list, outlier);
    }

    /** One request: sends "ping\n", reads the answer; false when the connection ended without one. */
    private static boolean request(int vip, boolean clientFinAfterSend) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), vip), 2000);
            s.setSoTimeout(3000);
            s.getOutputStream().write("ping\n".getBytes());
            if (clientFinAfterSend) {
                s.shutdownOutput();
            }
            return s.getInputStream().readNBytes(5).length == 5;
        } catch (IOException e) {
            return false;
        }
    }

    private static Set<HealthFlag> flags(Node n, GrayBackend b) {
        return view(n, b).flags();
    }

    private static NodeView.BackendView view(Node n, GrayBackend b) {
        return n.control().view().vip("a").orElseThrow().backends().stream()
                .filter(v -> v.address().endsWith(":" + b.port())).findFirst().orElseThrow();
    }

    @Test
    void aBackendThatResetsEveryConnectionBeforeAnsweringIsEjectedAndThenNoRequestFails() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend bad = new GrayBackend(Behaviour.RESET);
             GrayBackend c = new GrayBackend(Behaviour.ECHO)) {
            int vip = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip, "consecutive_failures: 2, base_ejection_time: 30s", a, bad, c))) {
                await("the resetting backend is ejected").atMost(Duration.ofSeconds(10)).until(() -> {
                    request(vip, false);
                    return flags(n, bad).contains(HealthFlag.EJECTED_PASSIVE);
                });
                assertThat(view(n, bad).recentTransitions().getLast().reason())
                        .startsWith("2 consecutive failures: reset by the backend before any response");
                for (int i = 0; i < 30; i++) {
                    assertThat(request(vip, false)).as("request %d after the ejection", i).isTrue();
                }
                assertThat(flags(n, a)).isEmpty();
                assertThat(flags(n, c)).isEmpty();
            }
        }
    }

    @Test
    void withClosedBeforeResponseOffTheResettingBackendStaysInRotation() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend bad = new GrayBackend(Behaviour.RESET)) {
            int vip = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip, "closed_before_response: off", a, bad))) {
                for (int i = 0; i < 10; i++) {
                    request(vip, false);
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> bad.accepted.get() >= 5);
                assertThat(flags(n, bad)).doesNotContain(HealthFlag.EJECTED_PASSIVE);
            }
        }
    }

    @Test
    void anOrderlyCloseCountsOnlyInResetOrCloseModeAndOnlyWhileTheClientHasNotClosed() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend b = new GrayBackend(Behaviour.ECHO);
             GrayBackend closer = new GrayBackend(Behaviour.CLOSE)) {
            int vip = ReloadOffLoopIT.freePort();
            // Default mode (reset): a FIN before any answer is a protocol's right.
            try (Node n = start(config(vip, "consecutive_failures: 1, max_ejection_percent: 50", a, b, closer))) {
                for (int i = 0; i < 12; i++) {
                    request(vip, false);
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> closer.accepted.get() >= 4);
                assertThat(flags(n, closer)).doesNotContain(HealthFlag.EJECTED_PASSIVE);
            }
            int vip2 = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip2, "consecutive_failures: 1, closed_before_response: reset-or-close",
                    a, b, closer))) {
                // A client that sent its FIN with its request: the backend may close without a word
                // (fire-and-forget protocols); not counted even in reset-or-close mode.
                int before = closer.accepted.get();
                for (int i = 0; i < 12; i++) {
                    request(vip2, true);
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> closer.accepted.get() >= before + 4);
                assertThat(flags(n, closer)).doesNotContain(HealthFlag.EJECTED_PASSIVE);
                // The client kept its side open: the close before any answer counts.
                await("the closing backend is ejected").atMost(Duration.ofSeconds(10)).until(() -> {
                    request(vip2, false);
                    return flags(n, closer).contains(HealthFlag.EJECTED_PASSIVE);
                });
                assertThat(view(n, closer).recentTransitions().getLast().reason())
                        .contains("closed by the backend before any response");
            }
        }
    }

    @Test
    void aClientThatResetsItsOwnConnectionIsNotHeldAgainstASilentBackend() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend silent = new GrayBackend(Behaviour.SILENT)) {
            int vip = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip, "consecutive_failures: 1, max_ejection_percent: 100", a, silent))) {
                for (int i = 0; i < 10; i++) {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), vip), 2000);
                        s.getOutputStream().write("ping\n".getBytes());
                        Thread.sleep(20); // let the request reach the backend (not waiting for a condition)
                        s.setSoLinger(true, 0); // the client gives up with a reset
                    }
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> silent.accepted.get() >= 5);
                Thread.sleep(300); // give a wrongly posted signal time to land (asserting an absence)
                assertThat(flags(n, silent)).doesNotContain(HealthFlag.EJECTED_PASSIVE);
            }
        }
    }

    @Test
    void withThreeConsecutiveFailuresItTakesThreeResetsInARow() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend bad = new GrayBackend(Behaviour.RESET);
             GrayBackend c = new GrayBackend(Behaviour.ECHO)) {
            int vip = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip, "consecutive_failures: 3, base_ejection_time: 30s", a, bad, c))) {
                await("three resets in a row eject it").atMost(Duration.ofSeconds(10)).until(() -> {
                    request(vip, false);
                    return flags(n, bad).contains(HealthFlag.EJECTED_PASSIVE);
                });
                assertThat(view(n, bad).recentTransitions().getLast().reason()).startsWith("3 consecutive failures");
            }
        }
    }

    @Test
    void anAnsweredConnectionEndsTheStreakSoABackendThatAnswersEveryOtherOneStays() throws Exception {
        // Only the flaky backend: every connection goes to it, reset and answered in turn. Without
        // the answer ending the streak, two resets within the decay would eject it.
        try (GrayBackend flaky = new GrayBackend(Behaviour.RESET_EVERY_OTHER)) {
            int vip = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip, "consecutive_failures: 2, max_ejection_percent: 100", flaky))) {
                int answered = 0;
                for (int i = 0; i < 12; i++) {
                    if (request(vip, false)) {
                        answered++;
                    }
                }
                assertThat(answered).as("every other request answered").isBetween(5, 7);
                Thread.sleep(300); // give a wrongly posted signal time to land (asserting an absence)
                assertThat(flags(n, flaky)).doesNotContain(HealthFlag.EJECTED_PASSIVE);
            }
        }
    }
}
