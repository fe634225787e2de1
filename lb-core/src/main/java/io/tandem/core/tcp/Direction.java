package io.tandem.core.tcp;

/**
 * One direction of a proxied connection (client to backend, or back), as the connection's timer
 * and {@link ResponseWatch} see it.
 */
interface Direction {

    /**
     * True while this direction's bytes move where only the kernel sees them (Netty's splice in
     * the channel engine): activity and answers must then be read from TCP_INFO. False when every
     * byte passes through our code, copied or spliced by us.
     */
    boolean kernelOnly();

    /** The source socket's descriptor, or -1 when it is not an epoll socket or already closed. */
    int sourceFd();

    /** Bytes counted so far (a kernel-only direction adds its bytes only at its end). */
    long counted();

    /** Whether the source sent its FIN. */
    boolean inputDone();

    /** Nanoseconds since the kernel last received data on a kernel-only source, else {@link Long#MAX_VALUE}. */
    default long kernelQuietNanos() {
        if (!kernelOnly()) {
            return Long.MAX_VALUE;
        }
        int fd = sourceFd();
        long millis = fd < 0 ? -1 : TcpInfo.lastDataRecvMillis(fd);
        return millis < 0 ? Long.MAX_VALUE : java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
    }
}
