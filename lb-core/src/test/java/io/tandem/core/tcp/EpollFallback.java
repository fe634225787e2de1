package io.tandem.core.tcp;

import io.netty.channel.EventLoopGroup;

/** Lets test fixtures outside this package run an event-loop group on {@link EpollLoop}'s fallback. */
public final class EpollFallback {
    private EpollFallback() {
    }

    /** The loops of {@code group} run as if Netty's epoll descriptor were not reachable. Before anything binds on it. */
    public static EventLoopGroup force(EventLoopGroup group) {
        EpollLoop.withoutDescriptor(group);
        return group;
    }
}
