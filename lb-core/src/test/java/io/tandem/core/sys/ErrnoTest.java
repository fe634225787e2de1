package io.tandem.core.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.ChannelException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import org.junit.jupiter.api.Test;

/**
 * The node's own resource errors are told from a backend's, whatever engine raised them: the raw
 * engine's errno-carrying exceptions, Netty's native ones (negated errno, also wrapped in a
 * ChannelException as a failed socket() is), and NIO's, which only carry strerror's text.
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
    void nettysNativeErrnoIsReadThroughItsChannelException() {
        assumeTrue(Epoll.isAvailable(), "Netty's native library (epoll) unavailable");
        var emfile = new ChannelException(Errors.newIOException("newSocketStream", -Errno.EMFILE));
        assertThat(Errno.local(emfile)).isEqualTo(Errno.EMFILE);
        assertThat(Errno.of(emfile)).isEqualTo(Errno.EMFILE);
        assertThat(Errno.local(Errors.newIOException("accept", -Errno.ENFILE))).isEqualTo(Errno.ENFILE);
        assertThat(Errno.local(Errors.newIOException("connect", -Errno.ENOBUFS))).isEqualTo(Errno.ENOBUFS);
        assertThat(Errno.local(Errors.newIOException("connect", -Errno.ENOMEM))).isEqualTo(Errno.ENOMEM);
        assertThat(Errno.local(Errors.newIOException("read", -104))).as("a reset is not local").isZero();
    }

    @Test
    void nioAndNettysUnexposedExceptionsAreReadByTheirText() {
        assertThat(Errno.local(new ChannelException("Failed to open a socket.", new IOException("Too many open files"))))
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
        assertThat(Errno.local(new ConnectTimeoutException("connection timed out after 1000 ms: /10.0.0.1:80"))).isZero();
        assertThat(Errno.local(new NoRouteToHostException("No route to host"))).isZero();
        assertThat(Errno.local(new IOException("Connection reset by peer"))).isZero();
        assertThat(Errno.local(new IOException())).isZero();
    }

    @Test
    void namesAndHintsForTheLog() {
        assertThat(Errno.name(Errno.EMFILE)).isEqualTo("EMFILE");
        assertThat(Errno.name(0)).isEqualTo("unknown");
        assertThat(Errno.name(200)).isEqualTo("errno_200");
        assertThat(Errno.hint(Errno.EMFILE)).contains("LimitNOFILE").contains("ulimit -n");
        assertThat(Errno.hint(Errno.EADDRNOTAVAIL)).contains("ip_local_port_range");
    }
}
