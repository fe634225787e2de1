package io.tandem.core.tcp;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code tcpi_bytes_received} and {@code tcpi_last_data_recv} from
 * {@code getsockopt(TCP_INFO)} through the FFM API.
 *
 * <p>Why: bytes that move by splice never pass through the JVM, so the only exact count of what
 * a spliced direction carried, and the only clock of when it last carried something, is the
 * kernel's. Netty's {@code EpollTcpInfo} stops before the byte counters (Linux 4.1+), so we read
 * the struct ourselves. Used at the end of a spliced direction and from connection timers, never
 * per packet; allocation-free (one scratch buffer per thread, i.e. per event loop). Returns -1
 * when unavailable (not Linux, native access denied).
 */
final class TcpInfo {
    private static final Logger log = LoggerFactory.getLogger(TcpInfo.class);
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_INFO = 11;
    /** offsetof(struct tcp_info, tcpi_bytes_received) on Linux (u64 after tcpi_bytes_acked at 120). */
    private static final int BYTES_RECEIVED_OFFSET = 128;
    /** offsetof(struct tcp_info, tcpi_last_data_recv): u32 milliseconds, after eight u8 and eleven u32. */
    private static final int LAST_DATA_RECV_OFFSET = 52;
    private static final int STRUCT_SIZE = 256;
    private static final MethodHandle GETSOCKOPT = lookup();
    /** The struct and its socklen_t, reused by every call on a thread. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::allocate);

    private record Scratch(MemorySegment info, MemorySegment len) {
        static Scratch allocate() {
            Arena arena = Arena.ofAuto(); // freed with the thread's scratch
            return new Scratch(arena.allocate(STRUCT_SIZE, 8), arena.allocate(JAVA_INT));
        }
    }

    private TcpInfo() {
    }

    private static MethodHandle lookup() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("getsockopt")
                    .map(addr -> linker.downcallHandle(addr,
                            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS)))
                    .orElse(null);
        } catch (Throwable t) {
            log.debug("TCP_INFO byte counters unavailable cause=\"{}\"", t.toString());
            return null;
        }
    }

    /** Total payload bytes the kernel received on socket {@code fd}, or -1 when unknown. */
    static long bytesReceived(int fd) {
        MemorySegment info = read(fd, BYTES_RECEIVED_OFFSET + 8);
        return info == null ? -1 : info.get(JAVA_LONG_UNALIGNED, BYTES_RECEIVED_OFFSET);
    }

    /**
     * Milliseconds since socket {@code fd} last received payload (FIN and pure ACKs do not count;
     * the time since the handshake when nothing arrived yet), or -1 when unknown. Kernel jiffy
     * resolution: up to 10 ms off (HZ=100).
     */
    static long lastDataRecvMillis(int fd) {
        MemorySegment info = read(fd, LAST_DATA_RECV_OFFSET + 4);
        return info == null ? -1 : Integer.toUnsignedLong(info.get(JAVA_INT, LAST_DATA_RECV_OFFSET));
    }

    /** TCP_INFO of {@code fd} in this thread's scratch buffer, or null when it holds fewer than {@code need} bytes. */
    private static MemorySegment read(int fd, int need) {
        if (GETSOCKOPT == null || fd < 0) {
            return null;
        }
        try {
            Scratch scratch = SCRATCH.get();
            MemorySegment info = scratch.info();
            MemorySegment len = scratch.len();
            len.set(JAVA_INT, 0, STRUCT_SIZE);
            int rc = (int) GETSOCKOPT.invokeExact(fd, IPPROTO_TCP, TCP_INFO, info, len);
            return rc != 0 || len.get(JAVA_INT, 0) < need ? null : info;
        } catch (Throwable t) {
            return null;
        }
    }
}
