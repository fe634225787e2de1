package io.tandem.core.tcp;

import io.netty.channel.FileRegion;
import io.netty.channel.epoll.Native;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.AbstractReferenceCounted;
import java.io.IOException;
import java.nio.channels.WritableByteChannel;

/**
 * {@code count} bytes sitting in a kernel pipe, written to an epoll socket with splice(2).
 *
 * <p>Why a FileRegion: it rides in the target channel's outbound buffer, so it is ordered with
 * every other write to that socket (ByteBufs from the copy relay, Netty's own splice-out tasks),
 * counts toward the channel's writability, and when the socket is full Netty waits for EPOLLOUT
 * and calls {@link #transferTo} again, which is exactly the "wait for writability" a splice
 * loop needs. The {@link WritableByteChannel} Netty passes in is ignored: we splice from the
 * pipe straight into {@code targetFd}. The pipe is owned by the caller and outlives the region.
 */
final class PipeRegion extends AbstractReferenceCounted implements FileRegion {
    private final FileDescriptor pipeIn;
    private final int targetFd;
    private final long count;
    private long transferred;

    PipeRegion(FileDescriptor pipeIn, int targetFd, int count) {
        this.pipeIn = pipeIn;
        this.targetFd = targetFd;
        this.count = count;
    }

    @Override
    public long position() {
        return 0;
    }

    @Override
    @Deprecated
    public long transfered() {
        return transferred;
    }

    @Override
    public long transferred() {
        return transferred;
    }

    @Override
    public long count() {
        return count;
    }

    @Override
    public long transferTo(WritableByteChannel ignored, long position) throws IOException {
        long left = count - transferred;
        if (left <= 0) {
            return 0;
        }
        // Native.splice returns 0 on EAGAIN (socket buffer full): Netty then arms EPOLLOUT.
        int n = Native.splice(pipeIn.intValue(), -1, targetFd, -1, left);
        transferred += n;
        return n;
    }

    @Override
    public PipeRegion retain() {
        super.retain();
        return this;
    }

    @Override
    public PipeRegion retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public PipeRegion touch() {
        return this;
    }

    @Override
    public PipeRegion touch(Object hint) {
        return this;
    }

    @Override
    protected void deallocate() {
        // The pipe belongs to the Relay; nothing to free here.
    }
}
