package io.tandem.ha;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP forwarder that a test can break: {@link #cut()} closes every connection and
 * refuses new ones (a process death or REJECT as the far side sees it), {@link #pause()} stops
 * moving bytes while keeping connections open (a blackhole: a host that vanished, a frozen
 * peer), {@link #delay} holds every chunk for a while in each direction (a slow link, or a
 * ZooKeeper that fsyncs every write on a busy disk).
 */
final class TcpProxy implements Closeable {
    private final int targetPort;
    private final ServerSocket server;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Object gate = new Object();
    private volatile boolean cut;
    private volatile boolean paused;
    private volatile boolean closed;
    private volatile long delayMs;

    TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread.ofVirtual().name("test-proxy-accept").start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    String address() {
        return "127.0.0.1:" + port();
    }

    void cut() {
        cut = true;
        closeAll();
    }

    void restore() {
        cut = false;
        resume();
    }

    /** Each chunk is forwarded {@code ms} after it was read, in both directions (0: at once). */
    TcpProxy delay(long ms) {
        delayMs = ms;
        return this;
    }

    void pause() {
        paused = true;
    }

    void resume() {
        synchronized (gate) {
            paused = false;
            gate.notifyAll();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (cut) {
                    client.setSoLinger(true, 0);
                    client.close();
                    continue;
                }
                Socket upstream = new Socket();
                try {
                    upstream.connect(new InetSocketAddress("127.0.0.1", targetPort), 1000);
                } catch (IOException e) {
                    client.close();
                    continue;
                }
                sockets.add(client);
                sockets.add(upstream);
                Thread.ofVirtual().start(() -> pump(client, upstream));
                Thread.ofVirtual().start(() -> pump(upstream, client));
            } catch (IOException e) {
                // closed or transient: loop checks closed
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                awaitUnpaused();
                long delay = delayMs;
                if (delay > 0) {
                    Thread.sleep(delay); // a slow link, not a wait for a condition
                }
                if (cut) {
                    break;
                }
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // connection ended
        } finally {
            quietClose(from);
            quietClose(to);
        }
    }

    private void awaitUnpaused() throws InterruptedException {
        synchronized (gate) {
            while (paused && !cut && !closed) {
                gate.wait(100);
            }
        }
    }

    private void closeAll() {
        for (Socket s : sockets) {
            quietClose(s);
        }
        sockets.clear();
        synchronized (gate) {
            gate.notifyAll();
        }
    }

    private static void quietClose(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        closeAll();
    }
}
