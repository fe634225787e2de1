package io.tandem.core.transport;

import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandle;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.Future;
import java.io.IOException;

/**
 * Registers a handle with the event loop it is called on, where Netty completes the registration
 * inline: the one way every raw socket of the data path (TCP and UDP, epoll and NIO) joins its loop.
 */
public final class InlineRegistration {
    private InlineRegistration() {
    }

    /**
     * The registration of {@code handle} with {@code loop}, with no interest yet.
     *
     * @param what names the mechanism in the error ({@code "epoll"}, {@code "selector"})
     * @throws IOException when it failed, or did not complete inline (called off the loop)
     */
    public static IoRegistration register(IoEventLoop loop, IoHandle handle, String what) throws IOException {
        Future<IoRegistration> f = loop.register(handle);
        if (!f.isSuccess()) {
            Throwable cause = f.cause();
            throw new IOException(what + " registration " + (cause == null ? "did not complete inline" : "failed"),
                    cause);
        }
        return f.getNow();
    }
}
