package io.tandem.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The node's own resource errors are told from a backend's, whatever engine raised them: the raw
 * engine's errno-carrying exceptions and NIO's, which only carry strerror's text (Netty's native
 * exceptions, read by their text too: lb-core's NettyErrnoTest).
 */
class ErrnoTest {
    @Test
    void theRawEnginesErrnoIsReadAsANumber() {
        assertThat(Errno.local(new Errno.ErrnoException("socket(..) failed: Too many open files", Errno.EMFILE)))
                .isEqualTo(Errno.EMFILE);
        assertThat(Errno.local(new Errno.ConnectErrnoException("connect(..) failed: Cannot assign requested address: "
                + "/127.0.0.1:80", Errno.EADDRNOTAVAIL))).isEqualTo(Errno.EADDRNOTAVAIL);
        assertThat(Errno.local(new Errno.ConnectErrnoException("connect(..) failed: Connection refused", 111)))
                .as("a refusal is the backend's").isZero();
    }

    @Test
    void nioExceptionsAreReadByTheirTextThroughTheCauseChain() {
        assertThat(Errno.local(new UncheckedIOException("Failed to open a socket.", new IOException("Too many open files"))))
                .isEqualTo(Errno.EMFILE);
        assertThat(Errno.local(new IOException("Too many open files in system"))).isEqualTo(Errno.ENFILE);
        assertThat(Errno.local(new BindException("Cannot assign requested address"))).isEqualTo(Errno.EADDRNOTAVAIL);
        assertThat(Errno.local(new ConnectException("connect(..) failed: Resource temporarily unavailable: /10.0.0.1:80")))
                .isEqualTo(Errno.EAGAIN);
        assertThat(Errno.local(new IOException("No buffer space available"))).isEqualTo(Errno.ENOBUFS);
    }

    @Test
    void whatBackendsDoIsNeverLocal() {
        assertThat(Errno.local(new ConnectException("Connection refused: /127.0.0.1:9001"))).isZero();
        assertThat(Errno.local(new SocketTimeoutException("connection timed out after 1000 ms: /10.0.0.1:80"))).isZero();
        assertThat(Errno.local(new NoRouteToHostException("No route to host"))).isZero();
        assertThat(Errno.local(new IOException("Connection reset by peer"))).isZero();
        assertThat(Errno.local(new IOException())).isZero();
    }

    @Test
    void namesAndHintsForTheLog() {
        assertThat(Errno.name(Errno.EMFILE)).isEqualTo("EMFILE");
        assertThat(Errno.name(0)).isEqualTo("unknown");
        assertThat(Errno.name(200)).isEqualTo("errno_200");
        assertThat(Errno.of(new IOException("Too many open files"))).as("only a carrier has a number").isZero();
        assertThat(Errno.of(new RuntimeException(new Errno.ErrnoException("accept4(..) failed", Errno.ECONNABORTED))))
                .isEqualTo(Errno.ECONNABORTED);
        assertThat(Errno.hint(Errno.EMFILE)).contains("LimitNOFILE").contains("ulimit -n");
        assertThat(Errno.hint(Errno.EADDRNOTAVAIL)).contains("ip_local_port_range");
    }
}
