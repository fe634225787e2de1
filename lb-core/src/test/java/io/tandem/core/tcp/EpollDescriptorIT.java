package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.IoEventLoop;
import io.netty.channel.epoll.Epoll;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The raw engine adds sockets to epoll with one {@code EPOLL_CTL_ADD} on the loop's own epoll
 * descriptor, which it reads from Netty's private fields. This pins that the pinned Netty still
 * has them: a Netty upgrade that renames them fails here instead of silently costing one more
 * system call per socket.
 */
class EpollDescriptorIT {

    @Test
    void theLoopsEpollDescriptorIsFoundAndIsAnEpollInstance() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll unavailable");
        IoEventLoop loop = (IoEventLoop) ProxyFixture.group(TransportKind.EPOLL).next();
        int fd = loop.submit(() -> EpollDescriptor.of(loop)).get(10, TimeUnit.SECONDS);
        assertThat(fd).as("epoll descriptor of an epoll loop").isGreaterThanOrEqualTo(0);
        assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString())
                .as("what descriptor %d is", fd).isEqualTo("anon_inode:[eventpoll]");
    }

    @Test
    void aNioLoopHasNoEpollDescriptor() throws Exception {
        IoEventLoop loop = (IoEventLoop) ProxyFixture.group(TransportKind.NIO).next();
        assertThat(loop.submit(() -> EpollDescriptor.of(loop)).get(10, TimeUnit.SECONDS)).isEqualTo(-1);
    }
}
