package io.tandem.core.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.ChannelException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import io.tandem.sys.Errno;
import org.junit.jupiter.api.Test;

/**
 * Netty's native exceptions (a negated errno inside, strerror's text in the message) are told
 * apart by {@link Errno#local} through their text, as the sys module knows no Netty: the node's
 * own resource errors stay local even when Netty raised them.
 */
class NettyErrnoTest {
    @Test
    void nettysNativeLocalErrorsAreReadThroughTheirText() {
        assumeTrue(Epoll.isAvailable(), "Netty's native library (epoll) unavailable");
        var emfile = new ChannelException(Errors.newIOException("newSocketStream", -Errno.EMFILE));
        assertThat(Errno.local(emfile)).isEqualTo(Errno.EMFILE);
        assertThat(Errno.local(Errors.newIOException("accept", -Errno.ENFILE))).isEqualTo(Errno.ENFILE);
        assertThat(Errno.local(Errors.newIOException("connect", -Errno.ENOBUFS))).isEqualTo(Errno.ENOBUFS);
        assertThat(Errno.local(Errors.newIOException("connect", -Errno.ENOMEM))).isEqualTo(Errno.ENOMEM);
        assertThat(Errno.local(Errors.newIOException("read", -104))).as("a reset is not local").isZero();
    }

    @Test
    void nettysConnectTimeoutIsNeverLocal() {
        assertThat(Errno.local(new ConnectTimeoutException("connection timed out after 1000 ms: /10.0.0.1:80")))
                .isZero();
    }
}
