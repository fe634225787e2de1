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
 * {@link EpollLoop} adds sockets to epoll with its own {@code EPOLL_CTL_ADD} on the loop's epoll
 * descriptor, which it reads from Netty's private fields. This pins that the Netty in use still
 * has them: an upgrade that renames them fails here instead of silently running every loop on the
 * fallback (per-loop listening sockets instead of one shared accept queue). The forced fallback
 * has no descriptor, and a NIO loop is no epoll loop at all.
 */
class EpollDescriptorIT {

    @Test
    void theLoopsEpollDescriptorIsFoundAndIsAnEpollInstance() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll unavailable");
        IoEventLoop loop = (IoEventLoop) ProxyFixture.group(TransportKind.EPOLL).next();
        int fd = loop.submit(() -> EpollLoop.of(loop).descriptor()).get(10, TimeUnit.SECONDS);
        assertThat(fd).as("epoll descriptor of an epoll loop").isGreaterThanOrEqualTo(0);
        assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString())
                .as("what descriptor %d is", fd).isEqualTo("anon_inode:[eventpoll]");
    }

    @Test
    void aLoopForcedOntoTheFallbackHasNoDescriptor() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll unavailable");
        IoEventLoop loop = (IoEventLoop) ProxyFixture.group(TransportKind.EPOLL_FALLBACK).next();
        assertThat(loop.submit(() -> EpollLoop.of(loop).hasDescriptor()).get(10, TimeUnit.SECONDS)).isFalse();
    }

    @Test
    void aNioLoopIsNoEpollLoop() throws Exception {
        IoEventLoop loop = (IoEventLoop) ProxyFixture.group(TransportKind.NIO).next();
        assertThat(loop.submit(() -> TcpLoop.of(loop)).get(10, TimeUnit.SECONDS)).isInstanceOf(NioLoop.class);
    }
}
