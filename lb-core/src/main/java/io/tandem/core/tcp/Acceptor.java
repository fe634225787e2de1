package io.tandem.core.tcp;

import io.tandem.core.vip.LocalErrors;
import io.tandem.sys.Errno;
import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What both kinds of listening socket ({@link EpollListener}, {@link NioListener}) do alike:
 * accept up to {@link #ACCEPTS_PER_EVENT} per readiness report (the rest on the next one),
 * place each connection ({@link VipOnLoop#place}), and pause accepting for a second after an
 * error that would repeat at once (out of descriptors or memory: the listener stays readable),
 * as Netty's ServerBootstrap does, rather than spin.
 *
 * <p>Confined to its event loop.
 */
abstract class Acceptor {
    private static final Logger log = LoggerFactory.getLogger(Acceptor.class);
    static final int ACCEPTS_PER_EVENT = 64;

    /** The VIP on the loop this socket accepts on. */
    final VipOnLoop home;
    /** The loops sharing this accept queue, or null: this loop keeps what it accepts. */
    final AcceptGroup group;
    private boolean paused;

    Acceptor(VipOnLoop home, AcceptGroup group) {
        this.home = home;
        this.group = group;
    }

    /** Starts ({@code true}) or stops asking for incoming connections. */
    abstract void interest(boolean on) throws IOException;

    abstract boolean isClosed();

    /** Stops accepting (on the loop). Established connections are not touched. */
    abstract void close();

    final boolean paused() {
        return paused;
    }

    /** An accept failed: one connection gone (nothing to do), or the node short of something (pause a second). */
    final void acceptFailed(IOException e) {
        int errno = Errno.of(e);
        if (errno == Errno.ECONNABORTED || errno == Errno.EPROTO || errno == Errno.EPERM) {
            return; // that one connection is gone; the next readiness report continues
        }
        int local = Errno.local(e);
        if (local != 0) {
            home.vip.localErrors().record(LocalErrors.Op.ACCEPT, local, e, "accepting paused 1 s");
        } else if (home.warn.tryAcquire()) {
            log.warn("accept error vip={} pausing_ms=1000 cause=\"{}\"", home.vip.name(), e.toString());
        }
        if (paused || isClosed()) {
            return;
        }
        paused = true;
        try {
            interest(false);
        } catch (IOException | RuntimeException ex) {
            log.warn("accept pause failed vip={} cause=\"{}\"", home.vip.name(), ex.toString());
        }
        home.loop.executor.schedule(() -> {
            paused = false;
            if (!isClosed()) {
                try {
                    interest(true);
                } catch (IOException | RuntimeException ex) {
                    log.warn("accept resume failed vip={} cause=\"{}\"", home.vip.name(), ex.toString());
                }
            }
        }, 1, TimeUnit.SECONDS);
    }
}
