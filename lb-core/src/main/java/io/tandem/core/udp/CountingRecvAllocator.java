package io.tandem.core.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import java.util.concurrent.atomic.LongAdder;

/**
 * A fixed-size receive buffer (like {@code FixedRecvByteBufAllocator}) that counts how many
 * buffers it hands out, i.e. receive system calls. On epoll with
 * {@code MAX_DATAGRAM_PAYLOAD_SIZE} set, one buffer of {@code slot * batch} bytes feeds one
 * {@code recvmmsg}; comparing the count with the datagrams read shows whether batching works.
 * On NIO, not "respecting maybe-more-data" lets it keep reading until the socket is empty
 * instead of stopping after every datagram shorter than the buffer. On epoll it is respected:
 * a {@code recvmmsg} that did not fill every slot emptied the socket, so the read loop stops
 * there instead of paying one more call that only returns EAGAIN (epoll is level-triggered,
 * anything that arrives later wakes the loop again).
 */
final class CountingRecvAllocator extends DefaultMaxMessagesRecvByteBufAllocator {
    private final int bufferSize;
    private final LongAdder calls;

    CountingRecvAllocator(int bufferSize, int maxMessagesPerRead, LongAdder calls) {
        this(bufferSize, maxMessagesPerRead, calls, false);
    }

    CountingRecvAllocator(int bufferSize, int maxMessagesPerRead, LongAdder calls, boolean respectMaybeMoreData) {
        super(maxMessagesPerRead);
        this.bufferSize = bufferSize;
        this.calls = calls;
        respectMaybeMoreData(respectMaybeMoreData);
    }

    @Override
    public Handle newHandle() {
        return new MaxMessageHandle() {
            @Override
            public int guess() {
                return bufferSize;
            }

            @Override
            public ByteBuf allocate(ByteBufAllocator alloc) {
                calls.increment();
                return super.allocate(alloc);
            }
        };
    }
}
