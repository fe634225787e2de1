package io.tandem.config;

/** Event-loop transport, chosen once at start-up. {@code AUTO} = epoll when available, else NIO. */
public enum TransportKind {
    AUTO, EPOLL, NIO
}
