package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import io.tandem.sys.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The node running out of descriptors (or memory, or source ports) says nothing about a backend:
 * no passive failure, no retry that would hit the same limit; counted as the node's own error,
 * and the client is reset at once so it can retry elsewhere.
 */
@ExtendWith(LeakWatcher.class)
class LocalErrorsAreNotBackendFailuresTest {

    @Test
    void outOfDescriptorsAtSocketResetsTheClientAndBlamesNoBackend() {
        try (TcpHarness h = TcpHarness.builder().backends(2).start()) {
            h.loop.socketError = new Errno.ErrnoException("socket(..) failed: Too many open files", Errno.EMFILE);
            MemorySocket client = h.accept();
            assertThat(client.reset).isTrue();
            assertThat(h.events.connectFailed).hasValue(0);
            assertThat(h.backends).allSatisfy(b -> assertThat(b.stats().connectFailures.sum()).isZero());
            assertThat(h.vip.localErrors().total()).isEqualTo(1);
            assertThat(h.vip.stats().connectRetries.sum()).as("no retry").isZero();
            h.assertReleased();
        }
    }

    @Test
    void noSourcePortAtConnectIsTheNodesErrorToo() {
        try (TcpHarness h = TcpHarness.builder().backends(2).start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            // EADDRNOTAVAIL reported for the connect, as the kernel does when no source port is left
            backend.refuseWith(new Errno.ConnectErrnoException("connect(..) failed: Cannot assign requested address",
                    Errno.EADDRNOTAVAIL));
            assertThat(client.reset).isTrue();
            assertThat(h.events.connectFailed).hasValue(0);
            assertThat(h.loop.opened).as("no retry").hasSize(1);
            assertThat(h.vip.localErrors().total()).isEqualTo(1);
            h.assertReleased();
        }
    }
}
