package io.tandem.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Moves the calling thread into a named network namespace ({@code ip netns add NAME}, i.e.
 * {@code /run/netns/NAME}) with {@code setns(2)}. Only that thread moves, and every socket it
 * opens afterwards lives in the namespace for good: the pair demo's dashboard forwarder and the
 * tests that open sockets or netlink channels "inside" use one platform thread for it (a virtual
 * thread could be remounted on another carrier). Needs CAP_SYS_ADMIN.
 */
public final class NetNamespace {
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;

    private NetNamespace() {
    }

    /** Enters {@code /run/netns/<name>}; an error names the namespace and the errno. */
    public static void enter(String name) throws IOException {
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("namespace: \"" + name + "\" (expected a name under /run/netns)");
        }
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("setns on a virtual thread: its carrier would move, not the thread");
        }
        try {
            enterOrThrow(name);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("setns into " + name + " failed", t);
        }
    }

    private static void enterOrThrow(String name) throws Throwable {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), errno);
        MethodHandle setns = linker.downcallHandle(libc.find("setns").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno);
        MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(arena);
            String path = "/run/netns/" + name;
            int fd = (int) open.invokeExact(state, arena.allocateFrom(path), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw new IOException("open " + path + ": errno " + Syscalls.errno(state)
                        + " (expected a namespace made by ip netns add)");
            }
            try {
                if ((int) setns.invokeExact(state, fd, CLONE_NEWNET) != 0) {
                    throw new IOException("setns(" + path + "): errno " + Syscalls.errno(state) + " (needs root)");
                }
            } finally {
                int ignored = (int) close.invokeExact(fd);
            }
        }
    }
}
