package io.tandem.core.proxy;

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
 * Reads {@code tcpi_bytes_received} from {@code getsockopt(TCP_INFO)} through the FFM API.
 *
 * <p>Why: bytes that move by splice never pass through the JVM, so the only exact count of what
 * a spliced direction carried is the kernel's. Netty's {@code EpollTcpInfo} stops before the
 * byte counters (Linux 4.1+), so we read the struct ourselves. Used once per spliced direction
 * (at its end), never per packet. Returns -1 when unavailable (not Linux, native access denied).
 */
final class TcpInfo {
    private static final Logger log = LoggerFactory.getLogger(TcpInfo.class);
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_INFO = 11;
    /** offsetof(struct tcp_info, tcpi_bytes_received) on Linux (u64 after tcpi_bytes_acked at 120). */
    private static final int BYTES_RECEIVED_OFFSET = 128;
    private static final int STRUCT_SIZE = 256;
    private static final MethodHandle GETSOCKOPT = lookup();

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
        if (GETSOCKOPT == null || fd < 0) {
            return -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(STRUCT_SIZE, 8);
            MemorySegment len = arena.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, STRUCT_SIZE);
            int rc = (int) GETSOCKOPT.invokeExact(fd, IPPROTO_TCP, TCP_INFO, info, len);
            if (rc != 0 || len.get(JAVA_INT, 0) < BYTES_RECEIVED_OFFSET + 8) {
                return -1;
            }
            return info.get(JAVA_LONG_UNALIGNED, BYTES_RECEIVED_OFFSET);
        } catch (Throwable t) {
            return -1;
        }
    }
}
