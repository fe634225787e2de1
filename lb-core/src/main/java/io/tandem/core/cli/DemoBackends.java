package io.tandem.core.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Built-in demo backends on loopback: small HTTP servers that say which backend answered (and
 * stop on {@code GET /crash}, so the demo can show a backend dying under traffic) and TCP echo
 * servers. Demo only — not used by a production node.
 */
final class DemoBackends implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DemoBackends.class);
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final List<HttpServer> http = new ArrayList<>();
    private final List<ServerSocket> echo = new ArrayList<>();

    void startHttp(int port, String name) throws IOException {
        startHttp(LOOPBACK, port, name);
    }

    /** An HTTP backend on {@code address} (the pair demo's backends live in a network namespace). */
    void startHttp(InetAddress address, int port, String name) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(address, port), 128);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", ex -> {
            byte[] body;
            if (ex.getRequestURI().getPath().equals("/crash")) {
                body = (name + " is going down\n").getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
                ex.close();
                log.info("demo backend crashing backend={} port={}", name, port);
                Thread.ofVirtual().start(() -> server.stop(0));
                return;
            }
            body = ("hello from " + name + " (" + address.getHostAddress() + ":" + port + ")\n").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "text/plain");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        http.add(server);
    }

    void startEcho(int port) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(new InetSocketAddress(LOOPBACK, port), 128);
        echo.add(ss);
        Thread.ofVirtual().name("demo-echo-" + port).start(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket s = ss.accept();
                    Thread.ofVirtual().start(() -> echo(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private static void echo(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException e) {
            // client went away
        }
    }

    @Override
    public void close() {
        http.forEach(h -> h.stop(0));
        for (ServerSocket ss : echo) {
            try {
                ss.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
