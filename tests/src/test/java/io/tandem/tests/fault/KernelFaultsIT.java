package io.tandem.tests.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.tandem.tests.support.BackendProcess;
import io.tandem.tests.support.Orphans;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The kernel fault backend does to a real backend process what each {@link FaultKind} promises,
 * undoes it on clear, and cleans up after itself and after crashed test runs. Needs root and
 * iptables (skipped otherwise, like every kernel scenario).
 */
class KernelFaultsIT {
    private Faults faults;
    private BackendProcess backend;

    @BeforeEach
    void open() throws IOException {
        faults = Faults.kernel();
        backend = BackendProcess.start("k1");
    }

    @AfterEach
    void close() throws IOException {
        try {
            faults.close();
        } finally {
            backend.close();
        }
    }

    @Test
    void blackholeMakesConnectsTimeOutAndClearRestoresThem() throws IOException {
        try (Fault f = faults.fault(FaultKind.BLACKHOLE, backend)) {
            f.apply();
            assertThat(f.visibleAtConnect()).isTrue();
            assertThatThrownBy(() -> connect(backend.port(), 300)).isInstanceOf(SocketTimeoutException.class);
            f.clear();
            assertThat(f.active()).isFalse();
            assertThat(get(backend.port())).contains("backend=k1");
        }
    }

    @Test
    void resetRefusesConnectsAndClearRestoresThem() throws IOException {
        try (Fault f = faults.fault(FaultKind.RESET, backend)) {
            f.apply();
            assertThatThrownBy(() -> connect(backend.port(), 1000)).isInstanceOf(ConnectException.class)
                    .hasMessageContaining("refused");
            f.clear();
            assertThat(get(backend.port())).contains("backend=k1");
        }
    }

    @Test
    void hangLetsConnectsSucceedButAnswersNothingUntilSigcont() throws IOException {
        try (Fault f = faults.fault(FaultKind.HANG, backend)) {
            f.apply();
            assertThat(f.visibleAtConnect()).isFalse();
            try (Socket s = connect(backend.port(), 1000)) { // the kernel completes the handshake
                s.setSoTimeout(500);
                s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
                f.clear(); // SIGCONT: the waiting request is answered
                s.setSoTimeout(5000);
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .contains("backend=k1");
            }
        }
    }

    @Test
    void crashKillsTheProcessAndConnectsAreRefused() throws IOException {
        Fault f = faults.fault(FaultKind.CRASH, backend);
        f.apply();
        assertThat(backend.isAlive()).isFalse();
        assertThatThrownBy(() -> connect(backend.port(), 1000)).isInstanceOf(ConnectException.class);
    }

    @Test
    void closingTheFaultsRemovesItsRulesAndResumesItsStoppedProcesses() throws IOException {
        faults.fault(FaultKind.BLACKHOLE, backend).apply();
        faults.fault(FaultKind.HANG, backend).apply();
        String mine = Iptables.PREFIX + ProcessHandle.current().pid() + "-";
        assertThat(Iptables.comments()).anyMatch(c -> c.startsWith(mine));
        faults.close();
        assertThat(Iptables.comments()).noneMatch(c -> c.startsWith(mine));
        assertThat(get(backend.port())).contains("backend=k1");
    }

    @Test
    void sweepRemovesRulesOfDeadTestRunsAndKeepsThoseOfLiveOnes() throws Exception {
        long dead = deadPid();
        String deadComment = Iptables.PREFIX + dead + "-1";
        Iptables.Rule leftover = Iptables.insert(backend.port(), Iptables.Action.DROP, deadComment);
        Iptables.Rule live = Iptables.insert(backend.port(), Iptables.Action.DROP);
        try {
            assertThat(Iptables.sweep()).isGreaterThanOrEqualTo(1);
            assertThat(Iptables.comments()).doesNotContain(deadComment).contains(live.comment());
        } finally {
            live.delete();
            leftover.delete();
        }
    }

    @Test
    void sweepKillsAStoppedBackendWhoseTestRunDied() throws Exception {
        Process owner = new ProcessBuilder("sleep", "60").start();
        try (BackendProcess orphan = BackendProcess.start("orphan", owner.pid())) {
            orphan.signal("STOP"); // a stopped process cannot notice its owner is gone by itself
            owner.destroyForcibly().waitFor();
            assertThat(Orphans.sweep()).isGreaterThanOrEqualTo(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> !orphan.isAlive());
        } finally {
            owner.destroyForcibly();
        }
    }

    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    private static Socket connect(int port, int timeoutMs) throws IOException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), timeoutMs);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private static String get(int port) throws IOException {
        try (Socket s = connect(port, 2000)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        }
    }
}
