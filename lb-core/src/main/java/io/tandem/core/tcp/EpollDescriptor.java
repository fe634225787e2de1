package io.tandem.core.tcp;

import io.netty.channel.IoEventLoop;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.FileDescriptor;
import java.lang.reflect.Field;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The epoll descriptor of a Netty epoll event loop, so a raw socket can be added to it with one
 * {@code EPOLL_CTL_ADD}: Netty's {@code IoRegistration.submit} adds a descriptor and then
 * modifies it with the same events (two system calls where one does), and a raw socket's
 * interest never changes after that (edge-triggered, {@link RawSocket#arm}).
 *
 * <p>Netty does not expose the descriptor, so this reads two private fields
 * ({@code SingleThreadIoEventLoop.ioHandler}, {@code EpollIoHandler.epollFd}) once per loop.
 * They exist in the pinned Netty (4.2.12; {@code EpollDescriptorIT} checks it); where they do not,
 * {@link #of} answers -1 and sockets are added through Netty's registration, at one system call
 * more per socket.
 */
final class EpollDescriptor {
    private static final Logger log = LoggerFactory.getLogger(EpollDescriptor.class);
    private static final Field IO_HANDLER = field(SingleThreadIoEventLoop.class, "ioHandler");
    private static final Field EPOLL_FD = field(EpollIoHandler.class, "epollFd");

    private EpollDescriptor() {
    }

    private static Field field(Class<?> type, String name) {
        try {
            Field f = type.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.info("epoll descriptor not reachable, raw sockets are added through Netty (one more epoll_ctl"
                    + " per socket) field={}.{} cause=\"{}\"", type.getSimpleName(), name, e.toString());
            return null;
        }
    }

    /** {@code loop}'s epoll descriptor, or -1 when it cannot be read. */
    static int of(IoEventLoop loop) {
        if (IO_HANDLER == null || EPOLL_FD == null || !(loop instanceof SingleThreadIoEventLoop)) {
            return -1;
        }
        try {
            Object handler = IO_HANDLER.get(loop);
            if (handler instanceof EpollIoHandler && EPOLL_FD.get(handler) instanceof FileDescriptor fd
                    && fd.isOpen()) {
                return fd.intValue();
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("epoll descriptor not readable cause=\"{}\"", e.toString());
        }
        return -1;
    }
}
