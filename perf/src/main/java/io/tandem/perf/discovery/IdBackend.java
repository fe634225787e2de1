package io.tandem.perf.discovery;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP backend that answers every newline with its own id and a newline, so a probe
 * through the VIP can tell which backend its connection reached. Closing it closes the listener
 * and every accepted socket.
 */
final class IdBackend implements AutoCloseable {
    private final String id;
    private final ServerSocket server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();

    IdBackend(String id) throws IOException {
        this.id = id;
        byte[] reply = (id + "\n").getBytes(StandardCharsets.US_ASCII);
        Thread.ofVirtual().name("backend-" + id).start(() -> {
            while (!server.isClosed()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return; // closed
                }
                open.add(s);
                Thread.ofVirtual().start(() -> serve(s, reply));
            }
        });
    }

    private void serve(Socket s, byte[] reply) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    out.write(reply);
                    out.flush();
                }
            }
        } catch (IOException e) {
            // peer gone or backend closed
        } finally {
            open.remove(s);
        }
    }

    String id() {
        return id;
    }

    int port() {
        return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException e) {
                // keep closing the rest
            }
        }
    }
}
