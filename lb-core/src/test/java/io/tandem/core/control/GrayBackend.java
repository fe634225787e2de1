package io.tandem.core.control;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real backend on loopback that misbehaves in one of the gray ways, after reading the client's
 * first bytes: answers them (an echo), answers them late, resets, closes, or says nothing at all.
 * Accepts on a platform thread, serves each connection on a virtual one.
 */
final class GrayBackend implements AutoCloseable {
    enum Behaviour { ECHO, SLOW_ECHO, RESET, CLOSE, SILENT, RESET_EVERY_OTHER }

    private final ServerSocket server;
    private final Behaviour behaviour;
    private final long delayMillis;
    final AtomicInteger accepted = new AtomicInteger();

    GrayBackend(Behaviour behaviour) throws IOException {
        this(behaviour, 0);
    }

    GrayBackend(Behaviour behaviour, long delayMillis) throws IOException {
        this.behaviour = behaviour;
        this.delayMillis = delayMillis;
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
        Thread.ofPlatform().daemon().start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            int nth = accepted.incrementAndGet();
            Thread.ofVirtual().start(() -> serve(s, nth));
        }
    }

    private void serve(Socket s, int nth) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            byte[] buf = new byte[256];
            int n = in.read(buf); // the client's bytes: everything it sends fits one read
            if (n < 0) {
                return;
            }
            switch (behaviour) {
                case ECHO -> {
                    out.write(buf, 0, n);
                    in.transferTo(out);
                }
                case SLOW_ECHO -> {
                    Thread.sleep(delayMillis);
                    out.write(buf, 0, n);
                    in.transferTo(out);
                }
                case RESET -> s.setSoLinger(true, 0); // the close below sends RST
                case CLOSE -> {
                }
                case SILENT -> in.transferTo(OutputStream.nullOutputStream()); // until the client goes
                case RESET_EVERY_OTHER -> {
                    if (nth % 2 == 1) {
                        s.setSoLinger(true, 0);
                    } else {
                        out.write(buf, 0, n);
                        in.transferTo(out);
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            // the peer went away
        }
    }

    int port() {
        return server.getLocalPort();
    }

    String address() {
        return "127.0.0.1:" + port();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
