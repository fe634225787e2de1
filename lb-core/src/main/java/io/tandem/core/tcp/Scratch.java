package io.tandem.core.tcp;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The copy relay's read buffer: one per event loop, shared by every connection on it. A read
 * lands here and is written to its target at once; only what the target does not take is kept
 * (in a pooled buffer of its own), so a connection that is merely idle holds no buffer at all.
 * The epoll socket reads and writes at its native {@link #address}, the NIO one through the
 * {@link #buffer}.
 */
final class Scratch {
    /** Read size of the copy relay. */
    static final int BYTES = 64 * 1024;

    final ByteBuffer buffer;
    final long address;

    Scratch(ByteBuffer buffer) {
        this.buffer = buffer;
        this.address = MemorySegment.ofBuffer(buffer).address();
    }

    static Scratch allocate() {
        return new Scratch(ByteBuffer.allocateDirect(BYTES));
    }

    int capacity() {
        return buffer.capacity();
    }
}
