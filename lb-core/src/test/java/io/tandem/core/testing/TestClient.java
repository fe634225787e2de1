package io.tandem.core.testing;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Blocking java.net clients for the proxy (virtual-thread friendly). Every stream is a
 * {@link PatternStream}, verified incrementally; results say how the stream ended.
 */
public final class TestClient {
    private static final int CHUNK = 256 * 1024;

    private TestClient() {
    }

    /** How a read side ended, how much arrived, and where the first wrong byte was (-1: none). */
    public record ReadResult(long bytes, long mismatchAt, TestBackend.End end, String error) {
    }

    public static Socket connect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.connect(address, 5_000);
        s.setSoTimeout(120_000); // a bound, not a wait: a stuck stream fails the test instead of hanging CI
        return s;
    }

    /** Header understood by {@link TestBackend}'s SINK and SOURCE modes. */
    public static void header(Socket s, long seed, long length, Boolean rst) throws IOException {
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeLong(seed);
        out.writeLong(length);
        if (rst != null) {
            out.writeBoolean(rst);
        }
        out.flush();
    }

    public static void writePattern(OutputStream out, long seed, long length) throws IOException {
        PatternStream pattern = new PatternStream(seed);
        byte[] buf = new byte[CHUNK];
        long left = length;
        while (left > 0) {
            int n = (int) Math.min(buf.length, left);
            pattern.next(buf, 0, n);
            out.write(buf, 0, n);
            left -= n;
        }
    }

    /** Reads to EOF (or error), verifying against the pattern of {@code seed}. */
    public static ReadResult readPattern(InputStream in, long seed) {
        PatternStream expected = new PatternStream(seed);
        byte[] buf = new byte[CHUNK];
        long bytes = 0;
        long mismatch = -1;
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (mismatch < 0) {
                    mismatch = expected.verify(buf, 0, n);
                }
                bytes += n;
            }
            return new ReadResult(bytes, mismatch, TestBackend.End.EOF, null);
        } catch (SocketException e) {
            boolean reset = e.getMessage() != null && e.getMessage().contains("reset");
            return new ReadResult(bytes, mismatch, reset ? TestBackend.End.RESET : TestBackend.End.ERROR, e.toString());
        } catch (IOException e) {
            return new ReadResult(bytes, mismatch, TestBackend.End.ERROR, e.toString());
        }
    }

    /** Sends {@code length} pattern bytes to an ECHO backend, half-closes, reads the echo to EOF. */
    public static ReadResult halfCloseEcho(InetSocketAddress proxy, long seed, long length) throws Exception {
        try (Socket s = connect(proxy)) {
            CompletableFuture<Void> writer = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    writePattern(s.getOutputStream(), seed, length);
                    s.shutdownOutput();
                    writer.complete(null);
                } catch (Throwable t) {
                    writer.completeExceptionally(t);
                }
            });
            ReadResult r = readPattern(s.getInputStream(), seed);
            writer.get(120, TimeUnit.SECONDS);
            return r;
        }
    }
}
