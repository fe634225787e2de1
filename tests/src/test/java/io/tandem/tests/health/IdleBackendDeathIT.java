package io.tandem.tests.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.tests.TandemProcess;
import io.tandem.tests.support.AdminClient;
import io.tandem.tests.support.BackendProcess;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backend process killed with SIGKILL behind a VIP that carries no traffic: the node's watch
 * connection hears the kernel close it, and the backend is out of rotation within milliseconds of
 * the signal — not at the next probe. Probes here run every 5 s, so only the watch can explain a
 * verdict within a second. Measured from the instant the signal is sent (the harness knows it).
 */
class IdleBackendDeathIT {
    private static final String VIP = "idle";

    @TempDir
    Path dir;

    @Test
    void aKilledBackendOfAnIdleVipIsOutOfRotationWithinMilliseconds() throws Exception {
        try (BackendProcess b1 = BackendProcess.start("b1");
             BackendProcess b2 = BackendProcess.start("b2")) {
            int admin = freePort();
            Path config = dir.resolve("tandem.yaml");
            Files.writeString(config, """
                    admin: {listen: 127.0.0.1:%d}
                    vips:
                      - name: %s
                        listen: 127.0.0.1:%d
                        backends: [%s, %s]
                        health_check: {type: tcp, interval: 5s, fast_interval: 1s, timeout: 500ms, fall: 2, rise: 1}
                    """.formatted(admin, VIP, freePort(), b1.address(), b2.address()));
            try (TandemProcess node = TandemProcess.start("run", "--no-watch", "--config", config.toString());
                 AdminClient api = new AdminClient(admin)) {
                node.awaitLine("node started", Duration.ofSeconds(45));
                await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> api.allEligible(VIP));
                Thread.sleep(500); // let the watch connections open after the first passing probes

                Instant killed = Instant.now();
                b2.kill9();
                await("b2 out of rotation").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                        .ignoreExceptions().until(() -> !api.backend(VIP, b2.address()).eligible());
                AdminClient.Transition down = api.backend(VIP, b2.address())
                        .firstSet(killed, Set.of("FAILED_ACTIVE_CHECK")).orElseThrow();
                long ms = Duration.between(killed, down.at()).toMillis();
                System.out.println("IDLE-DEATH kill_to_out_of_rotation_ms=" + ms + " reason=\"" + down.reason() + "\"");
                assertThat(ms).as("SIGKILL → FAILED_ACTIVE_CHECK, probes 5 s apart").isLessThan(1_000);
                assertThat(api.backend(VIP, b1.address()).eligible()).isTrue();
            }
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
