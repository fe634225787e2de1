package io.tandem.tests.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A tiny HTTP/1.x backend meant to run as its <em>own OS process</em>, so a system test can
 * {@code kill -9} or {@code SIGSTOP} it like a real server. Every request (any method, any path)
 * gets {@code 200} with the body {@code backend=NAME}, then the connection is closed; that also
 * makes it a valid target for {@code http}, {@code send-expect} and {@code tcp} health checks.
 *
 * <p>Uses only the JDK, so it runs from the test-classes directory alone:
 * {@code java -cp target/test-classes io.tandem.tests.support.BackendMain --name b1 --owner PID}.
 * It binds an ephemeral loopback port (or {@code --address A --port P}, e.g. inside a network
 * namespace) and prints {@code tandem-test-backend listening port=N}.
 * It exits by itself when the owner process (the test JVM) is gone, so a crashed test run leaves
 * no server behind (a stopped one is swept by {@link BackendProcess#sweepOrphans()}).
 */
public final class BackendMain {
    public static final String READY = "tandem-test-backend listening port=";

    private BackendMain() {
    }

    public static void main(String[] args) throws IOException {
        String name = "backend";
        long owner = -1;
        int port = 0;
        InetAddress address = InetAddress.getLoopbackAddress();
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--name" -> name = args[i + 1];
                case "--address" -> address = InetAddress.ofLiteral(args[i + 1]);
                case "--owner" -> owner = Long.parseLong(args[i + 1]);
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option: " + args[i]
                        + " (expected --name, --owner, --port, --address)");
            }
        }
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(address, port), 1024);
        OwnerWatch.exitWithOwner(owner);
        byte[] response = response(name);
        System.out.println(READY + server.getLocalPort());
        System.out.flush();
        while (true) {
            Socket s = server.accept();
            Thread.ofVirtual().start(() -> serve(s, response));
        }
    }

    private static byte[] response(String name) {
        String body = "backend=" + name + "\n";
        return ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads one request head (up to the blank line, at most 8 KiB), answers, closes. */
    private static void serve(Socket s, byte[] response) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            s.setSoTimeout(10_000);
            int matched = 0;
            int total = 0;
            byte[] end = {'\r', '\n', '\r', '\n'};
            int b;
            while (matched < 4 && total < 8192 && (b = in.read()) >= 0) {
                total++;
                matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            if (total == 0) {
                return; // a plain TCP check: connect and close
            }
            out.write(response);
            out.flush();
        } catch (IOException e) {
            // client gone (checks close with a reset), nothing to do
        }
    }
}
