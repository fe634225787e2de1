package io.tandem.core.testing;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback request/response backend that answers the first {@code answers} requests of each
 * connection and then hangs: it keeps reading (so its kernel keeps acknowledging, like a
 * stopped process's would until its buffer fills) but never writes again. With
 * {@code answers = 0} it is a hung backend from the start. A request is a 4-byte big-endian
 * length; its answer is that many bytes. One virtual thread per connection.
 */
public final class AnsweringBackend implements AutoCloseable {
    private final ServerSocket server;
    private final int answers;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger requests = new AtomicInteger();

    private AnsweringBackend(int answers) throws IOException {
        this.answers = answers;
        this.server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("answering-backend-" + server.getLocalPort()).start(this::acceptLoop);
    }

    /** A backend that answers every request. */
    public static AnsweringBackend answeringAll() throws IOException {
        return new AnsweringBackend(Integer.MAX_VALUE);
    }

    /** A backend that answers the first {@code answers} requests of each connection, then hangs. */
    public static AnsweringBackend hangingAfter(int answers) throws IOException {
        return new AnsweringBackend(answers);
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
    }

    public int accepted() {
        return accepted.get();
    }

    /** Requests received (answered or not) over all connections. */
    public int requests() {
        return requests.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                open.add(s);
                accepted.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            for (int i = 0; i < answers; i++) {
                int length = in.readInt();
                requests.incrementAndGet();
                writeAnswer(out, length);
            }
            hang(in);
        } catch (EOFException e) {
            // the client closed
        } catch (IOException e) {
            // reset by the proxy at teardown: expected
        } finally {
            open.remove(s);
        }
    }

    private void hang(DataInputStream in) throws IOException {
        while (true) {
            in.readInt();
            requests.incrementAndGet();
        }
    }

    private static void writeAnswer(OutputStream out, int length) throws IOException {
        byte[] buf = new byte[Math.min(length, 64 * 1024)];
        int left = length;
        while (left > 0) {
            int n = Math.min(buf.length, left);
            out.write(buf, 0, n);
            left -= n;
        }
        out.flush();
    }

    /** Sends one request for a {@code length}-byte answer. */
    public static void request(Socket s, int length) throws IOException {
        s.getOutputStream().write(new byte[] {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8),
                (byte) length});
        s.getOutputStream().flush();
    }

    /** Reads a whole {@code length}-byte answer (fails on EOF before it). */
    public static void readAnswer(Socket s, int length) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[64 * 1024];
        int left = length;
        while (left > 0) {
            int n = in.read(buf, 0, Math.min(buf.length, left));
            if (n < 0) {
                throw new EOFException("answer cut after " + (length - left) + " of " + length + " bytes");
            }
            left -= n;
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
}
