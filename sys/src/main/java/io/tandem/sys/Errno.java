package io.tandem.sys;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which socket errors are the node's own fault. Running out of file descriptors, kernel memory
 * or source ports says nothing about a backend: counting such an error as a backend's connect
 * failure ejected healthy backends whenever the node itself was short of descriptors (issue
 * #15, item 7). This class is the one place that decides, for every engine: the raw engine's
 * {@link ErrnoException}s carry the number; NIO's exceptions, and Netty's native ones (whose
 * message is {@code "call(..) failed: "} + strerror), only carry {@code strerror}'s text, which
 * is matched against the texts of the local errnos. Reading the text keeps this module free of
 * Netty, which the HA module does not use.
 *
 * <p>Also the one declaration of the errno numbers Tandem names (Linux numbers; x86-64 and
 * aarch64 share them).
 */
public final class Errno {
    public static final int EPERM = 1;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOSPC = 28;
    public static final int EPROTO = 71;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ECONNABORTED = 103;
    public static final int ENOBUFS = 105;
    public static final int ECONNREFUSED = 111;
    public static final int EINPROGRESS = 115;

    /**
     * The local errnos, longest text first where one text contains another ("Too many open files
     * in system" before "Too many open files"). EAGAIN counts only because every caller asks about
     * a connect, an accept or a socket(): there it means no source port or no routing-cache entry
     * was left, never "try the read again".
     */
    private static final Map<Integer, String> LOCAL = new LinkedHashMap<>();
    /** The glibc texts, for when libc cannot be asked (no native access): Java's own messages use them. */
    private static final Map<Integer, String> GLIBC = Map.of(
            ENFILE, "Too many open files in system",
            EMFILE, "Too many open files",
            ENOBUFS, "No buffer space available",
            ENOMEM, "Cannot allocate memory",
            EADDRNOTAVAIL, "Cannot assign requested address",
            EAGAIN, "Resource temporarily unavailable");
    /** strerror's text per local errno (libc's when it can be asked, e.g. musl words EMFILE differently). */
    private static final Map<Integer, String[]> TEXTS = new LinkedHashMap<>();

    static {
        for (int e : new int[] {ENFILE, EMFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EAGAIN}) {
            LOCAL.put(e, name(e));
            String libc = Syscalls.AVAILABLE ? Syscalls.strerror(e) : null;
            String glibc = GLIBC.get(e);
            TEXTS.put(e, libc == null || libc.equals(glibc) || libc.startsWith("errno ")
                    ? new String[] {glibc} : new String[] {libc, glibc});
        }
    }

    private Errno() {
    }

    /** An I/O error whose errno is known (the raw engine's calls). */
    public interface Carrier {
        /** The positive errno. */
        int errno();
    }

    /** An {@link java.io.IOException} from a raw call, with its errno. */
    public static final class ErrnoException extends java.io.IOException implements Carrier {
        private final int errno;

        public ErrnoException(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        @Override
        public int errno() {
            return errno;
        }
    }

    /** A failed connect from a raw call, with its errno ({@code ConnectException} as Netty's are). */
    public static final class ConnectErrnoException extends java.net.ConnectException implements Carrier {
        private final int errno;

        public ConnectErrnoException(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        @Override
        public int errno() {
            return errno;
        }
    }

    /**
     * The errno of {@code cause} when it is one of the node's own resource errors (EMFILE,
     * ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EAGAIN), else 0. Looks through the cause chain.
     * Error paths only (it may read messages).
     */
    public static int local(Throwable cause) {
        int e = of(cause);
        if (e != 0) {
            return LOCAL.containsKey(e) ? e : 0;
        }
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage();
            if (m == null) {
                continue;
            }
            for (var entry : TEXTS.entrySet()) {
                for (String text : entry.getValue()) {
                    if (m.contains(text)) {
                        return entry.getKey();
                    }
                }
            }
        }
        return 0;
    }

    /**
     * The errno {@code cause} carries as a number ({@link Carrier}, the raw engine's), else 0.
     * Looks through the cause chain.
     */
    public static int of(Throwable cause) {
        int depth = 0;
        for (Throwable t = cause; t != null && depth < 8; t = t.getCause(), depth++) {
            if (t instanceof Carrier c) {
                return c.errno();
            }
        }
        return 0;
    }

    /** A label for metrics and logs: {@code EMFILE}, or {@code errno_N} for one without a name here. */
    public static String name(int errno) {
        return switch (errno) {
            case 0 -> "unknown";
            case EPERM -> "EPERM";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case ENFILE -> "ENFILE";
            case EMFILE -> "EMFILE";
            case ENOSPC -> "ENOSPC";
            case EADDRINUSE -> "EADDRINUSE";
            case EADDRNOTAVAIL -> "EADDRNOTAVAIL";
            case ENOBUFS -> "ENOBUFS";
            default -> "errno_" + errno;
        };
    }

    /** What an operator can do about a local errno, for the warning. */
    public static String hint(int errno) {
        return switch (errno) {
            case EMFILE -> "raise LimitNOFILE / ulimit -n";
            case ENFILE -> "the system's file table is full: raise fs.file-max, or find who holds the descriptors";
            case EADDRNOTAVAIL, EAGAIN, EADDRINUSE -> "no source port left: widen net.ipv4.ip_local_port_range, "
                    + "add backend addresses, or use longer-lived connections";
            case ENOBUFS, ENOMEM -> "the kernel is short of memory for sockets: check net.core/net.ipv4 memory limits";
            case ENOSPC -> "epoll watch limit: raise fs.epoll.max_user_watches";
            default -> "a local resource of this node ran out";
        };
    }
}
