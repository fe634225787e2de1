package io.tandem.config;

/**
 * How a TCP VIP moves bytes between client and backend: always through the JVM
 * ({@code COPY}), zero-copy through a kernel pipe ({@code SPLICE}, epoll only), or
 * copy first and switch to splice once a connection has moved enough bytes ({@code AUTO},
 * like HAProxy {@code splice-auto}).
 */
public enum RelayMode {
    COPY, SPLICE, AUTO
}
