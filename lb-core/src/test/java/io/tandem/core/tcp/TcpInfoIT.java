package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link TcpInfo} reads the right fields of the kernel's struct tcp_info: the byte counter
 * matches what was sent and the last-data-received clock agrees with Netty's own reading.
 */
@ExtendWith(LeakWatcher.class)
class TcpInfoIT {

    @Test
    void bytesReceivedAndLastDataRecvMatchTheKernelsView() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll unavailable");
        EventLoopGroup group = ProxyFixture.group(TransportKind.EPOLL);
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        Channel server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false) // the bytes stay in the kernel: only TCP_INFO sees them
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        accepted.complete(ctx.channel());
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        try (Socket client = TestClient.connect((InetSocketAddress) server.localAddress())) {
            EpollSocketChannel ch = (EpollSocketChannel) accepted.get(5, TimeUnit.SECONDS);
            int fd = ch.fd().intValue();
            assertThat(TcpInfo.bytesReceived(fd)).isZero();

            client.getOutputStream().write(new byte[12_345]);
            client.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(15)).until(() -> TcpInfo.bytesReceived(fd) == 12_345);

            long ours = ch.eventLoop().submit(() -> TcpInfo.lastDataRecvMillis(fd)).get(5, TimeUnit.SECONDS);
            long netty = ch.eventLoop().submit(() -> ch.tcpInfo().lastDataRecv()).get(5, TimeUnit.SECONDS);
            assertThat(ours).isBetween(0L, 60_000L);
            assertThat(netty - ours).as("both read tcpi_last_data_recv").isBetween(0L, 1_000L);
        } finally {
            accepted.thenAccept(Channel::close);
            server.close().sync();
        }
    }
}
