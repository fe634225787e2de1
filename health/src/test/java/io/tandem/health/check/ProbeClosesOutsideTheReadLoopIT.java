package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A UDP probe decides inside {@code channelRead}; Netty's epoll datagram read loop reads again
 * after the handler returns without looking whether the channel was closed. A probe that closed
 * its channel there freed a descriptor number the next socket took, and the loop then read that
 * socket: a blocking one hung the event loop for good (every check and timer on it stopped), a
 * non-blocking one lost a datagram (UdpCheckIT once failed in CI with "timeout (no reply)").
 * Here the probe's outcome callback opens blocking sockets at once, as another thread might, so
 * they take the freed number if the channel was closed in the read loop.
 */
class ProbeClosesOutsideTheReadLoopIT {

    @Test
    void theLoopStaysLiveWhenTheNextSocketTakesTheProbesDescriptorNumber() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll only");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        List<DatagramSocket> grabbed = new CopyOnWriteArrayList<>();
        try (Servers.UdpEcho server = new Servers.UdpEcho((byte[]) null)) {
            EventLoop loop = group.next();
            CompletableFuture<Probe.Outcome> outcome = new CompletableFuture<>();
            Bootstrap bootstrap = new Bootstrap().group(loop).channel(EpollDatagramChannel.class);
            UdpProbe probe = new UdpProbe(bootstrap, loop, server.address(), Duration.ofSeconds(3),
                    new byte[] {'P'}, null, o -> {
                        for (int i = 0; i < 16; i++) { // blocking sockets, lowest free numbers first
                            try {
                                grabbed.add(new DatagramSocket(0, Servers.LOOPBACK));
                            } catch (java.io.IOException e) {
                                throw new IllegalStateException(e);
                            }
                        }
                        outcome.complete(o);
                    });
            loop.execute(probe::start);
            assertThat(outcome.get(5, TimeUnit.SECONDS).passed()).isTrue();

            CompletableFuture<Boolean> live = new CompletableFuture<>();
            loop.execute(() -> live.complete(true));
            assertThat(live.completeOnTimeout(false, 2, TimeUnit.SECONDS).get())
                    .as("the event loop runs tasks after the probe (not stuck reading a socket that is not its own)")
                    .isTrue();
        } finally {
            // Unblock a loop stuck in recv on one of them (the old code), then close them.
            try (DatagramSocket kick = new DatagramSocket(0, Servers.LOOPBACK)) {
                for (DatagramSocket s : grabbed) {
                    kick.send(new DatagramPacket(new byte[1], 1, new InetSocketAddress(Servers.LOOPBACK, s.getLocalPort())));
                }
            }
            grabbed.forEach(DatagramSocket::close);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }
}
