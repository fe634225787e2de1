package io.tandem.core.testing;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback backend on plain java.net sockets (a different stack from the proxy under test),
 * one virtual thread per connection. Behaviours:
 * <ul>
 *   <li>{@link Mode#ECHO}: echoes until EOF, then shuts its output down (half-close aware);</li>
 *   <li>{@link Mode#SINK}: reads a header (seed, length), verifies the {@link PatternStream}
 *       and records a {@link SinkResult} (bytes, first mismatch, how the stream ended);</li>
 *   <li>{@link Mode#SOURCE}: reads a header (seed, length, rst flag), sends the pattern, then
 *       closes with FIN, or with RST when the flag is set;</li>
 *   <li>{@link Mode#CAPTURE}: reads everything to EOF and queues the bytes (small streams only).</li>
 * </ul>
 */
public final class TestBackend implements AutoCloseable {
    public enum Mode { ECHO, SINK, SOURCE, CAPTURE }

    /** How a SINK stream ended. */
    public enum End { EOF, RESET, ERROR }

    public record SinkResult(long bytes, long mismatchAt, End end, String error) {
    }

    private final ServerSocket server;
    private final Mode mode;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    public final BlockingQueue<SinkResult> sinkResults = new LinkedBlockingQueue<>();
    public final BlockingQueue<byte[]> captured = new LinkedBlockingQueue<>();

    private TestBackend(Mode mode) throws IOException {
        this.mode = mode;
        this.server = new ServerSocket(0, 4096, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("backend-accept-" + server.getLocalPort()).start(this::acceptLoop);
    }

    public static TestBackend start(Mode mode) throws IOException {
        return new TestBackend(mode);
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
    }

    public int port() {
        return server.getLocalPort();
    }

    public int accepted() {
        return accepted.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.incrementAndGet();
                open.add(s);
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            switch (mode) {
                case ECHO -> echo(s);
                case SINK -> sink(s);
                case SOURCE -> source(s);
                case CAPTURE -> captured.add(s.getInputStream().readAllBytes());
            }
        } catch (IOException e) {
            // the test observes outcomes through its client; backend I/O errors are expected in RST tests
        } finally {
            open.remove(s);
        }
    }

    private static void echo(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
        }
        s.shutdownOutput();
    }

    private void sink(Socket s) throws IOException {
        long bytes = 0;
        long mismatch = -1;
        End end;
        String error = null;
        try {
            DataInputStream in = new DataInputStream(s.getInputStream());
            long seed = in.readLong();
            in.readLong(); // announced length: the test compares bytes itself
            PatternStream expected = new PatternStream(seed);
            byte[] buf = new byte[256 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (mismatch < 0) {
                    mismatch = expected.verify(buf, 0, n);
                }
                bytes += n;
            }
            end = End.EOF;
        } catch (SocketException e) {
            end = e.getMessage() != null && e.getMessage().contains("reset") ? End.RESET : End.ERROR;
            error = e.toString();
        } catch (EOFException e) {
            end = End.EOF;
            error = "eof in header";
        } catch (IOException e) {
            end = End.ERROR;
            error = e.toString();
        }
        sinkResults.add(new SinkResult(bytes, mismatch, end, error));
    }

    private static void source(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        long seed = in.readLong();
        long length = in.readLong();
        boolean rst = in.readBoolean();
        PatternStream pattern = new PatternStream(seed);
        OutputStream out = new DataOutputStream(s.getOutputStream());
        byte[] buf = new byte[256 * 1024];
        long left = length;
        while (left > 0) {
            int n = (int) Math.min(buf.length, left);
            pattern.next(buf, 0, n);
            out.write(buf, 0, n);
            left -= n;
        }
        if (rst) {
            s.setSoLinger(true, 0);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /** A loopback port with nothing listening (bound, then closed): connects to it are refused. */
    public static int deadPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
