package io.tandem.core.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A port on this machine's loopback forwarded to a TCP address inside a network namespace, so
 * that a browser on the host reaches a pair-demo node's dashboard (its admin API listens on the
 * namespace's own loopback). One platform thread moves itself into the namespace with
 * {@code setns(2)} (which changes only the calling thread) and opens every upstream socket
 * there; a socket keeps its namespace for life, so the bytes are then copied by virtual threads
 * of the host. Needs root (CAP_SYS_ADMIN), as the pair demo does anyway.
 */
final class NamespacePort implements AutoCloseable {
    private final ServerSocket server;
    private final ExecutorService inside;

    private NamespacePort(ServerSocket server, ExecutorService inside) {
        this.server = server;
        this.inside = inside;
    }

    /** Listens on 127.0.0.1:{@code localPort}; each connection goes to {@code target} inside {@code namespace}. */
    static NamespacePort open(String namespace, int localPort, InetSocketAddress target) throws IOException {
        ExecutorService inside = Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("netns-" + namespace).unstarted(r));
        try {
            inside.submit(() -> enter(namespace)).get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            inside.shutdownNow();
            throw new IOException("cannot enter network namespace " + namespace + ": " + e.getCause(), e);
        } catch (InterruptedException e) {
            inside.shutdownNow();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        ServerSocket server = new ServerSocket();
        try {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), localPort), 16);
        } catch (IOException e) {
            inside.shutdownNow();
            server.close();
            throw e;
        }
        NamespacePort port = new NamespacePort(server, inside);
        Thread.ofVirtual().name("netns-port-" + localPort).start(() -> port.accept(target));
        return port;
    }

    private void accept(InetSocketAddress target) {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> forward(client, target));
        }
    }

    private void forward(Socket client, InetSocketAddress target) {
        Socket upstream;
        try {
            upstream = inside.submit(() -> {
                Socket s = new Socket();
                s.connect(target, 2000);
                return s;
            }).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            closeQuietly(client);
            return;
        }
        Thread.ofVirtual().start(() -> pump(client, upstream));
        pump(upstream, client);
    }

    private static void pump(Socket from, Socket to) {
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException e) {
            // either side went away
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    /** setns(2) of the calling (platform) thread into {@code /run/netns/<namespace>}. */
    private static Void enter(String namespace) throws IOException {
        io.tandem.sys.NetNamespace.enter(namespace);
        return null;
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        inside.shutdownNow();
    }
}
