package io.tandem.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HA module's calls (socket, setsockopt with {@code SO_RCVTIMEO}, sendto, a recv that waits)
 * on real loopback datagram sockets, and errno captured for a call that fails.
 */
class SyscallsTest {
    @BeforeEach
    void linux() {
        assumeTrue(Syscalls.AVAILABLE, "libc through FFM unavailable (not Linux, or no native access)");
    }

    @Test
    void aDatagramSentWithSendtoIsReceivedByAWaitingRecv() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(arena);
            int receiver = Syscalls.socket(state, Syscalls.AF_INET, Syscalls.SOCK_DGRAM | Syscalls.SOCK_CLOEXEC, 0);
            int sender = Syscalls.socket(state, Syscalls.AF_INET, Syscalls.SOCK_DGRAM | Syscalls.SOCK_CLOEXEC, 0);
            assertThat(receiver).isNotNegative();
            assertThat(sender).isNotNegative();
            try {
                MemorySegment addr = arena.allocate(Syscalls.SOCKADDR_SLOT, 8);
                int len = Syscalls.writeSockaddr(addr, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0));
                assertThat(Syscalls.bind(state, receiver, addr.address(), len)).isZero();
                MemorySegment lenp = arena.allocate(ValueLayout.JAVA_INT);
                lenp.set(ValueLayout.JAVA_INT, 0, Syscalls.SOCKADDR_SLOT);
                assertThat(Syscalls.getsockname(state, receiver, addr.address(), lenp.address())).isZero();
                InetSocketAddress bound = Syscalls.readSockaddr(addr);
                assertThat(bound.getPort()).isPositive();

                MemorySegment tv = arena.allocate(16, 8); // struct timeval: 5 s, a bound on the wait
                tv.set(ValueLayout.JAVA_LONG, 0, 5L);
                assertThat(Syscalls.setsockopt(state, receiver, Syscalls.SOL_SOCKET, Syscalls.SO_RCVTIMEO,
                        tv.address(), 16)).isZero();

                byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
                MemorySegment out = arena.allocateFrom(ValueLayout.JAVA_BYTE, hello);
                assertThat(Syscalls.sendto(state, sender, out.address(), hello.length, 0, addr.address(), len))
                        .isEqualTo(hello.length);
                MemorySegment in = arena.allocate(64);
                long n = Syscalls.recvWaiting(state, receiver, in.address(), 64, 0);
                assertThat(n).isEqualTo(hello.length);
                assertThat(new String(in.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII))
                        .isEqualTo("hello");
            } finally {
                Syscalls.close(state, receiver);
                Syscalls.close(state, sender);
            }
        }
    }

    @Test
    void aFailedCallLeavesItsErrnoInTheStateBuffer() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(arena);
            assertThat(Syscalls.close(state, -1)).isEqualTo(-1);
            assertThat(Syscalls.errno(state)).isEqualTo(9); // EBADF
            assertThat(Syscalls.strerror(9)).isNotBlank();
        }
    }
}
