package io.tandem.tests.ha;

import io.tandem.tests.support.OwnerWatch;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The backend of the HA system test, in the {@code be} namespace: answers every HTTP request
 * with {@code 200 backend=NAME} and closes. {@code HttpBackendMain ADDRESS PORT NAME OWNER_PID}.
 */
public final class HttpBackendMain {
    private HttpBackendMain() {
    }

    public static void main(String[] args) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(args[0]), Integer.parseInt(args[1])), 1024);
        OwnerWatch.exitWithOwner(Long.parseLong(args[3]));
        String body = "backend=" + args[2] + "\n";
        byte[] response = ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n"
                + body).getBytes(StandardCharsets.US_ASCII);
        System.out.println("backend ready");
        System.out.flush();
        while (true) {
            Socket s = server.accept();
            Thread.ofVirtual().start(() -> serve(s, response));
        }
    }

    private static void serve(Socket s, byte[] response) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            s.setSoTimeout(5_000);
            int matched = 0;
            int total = 0;
            byte[] end = {'\r', '\n', '\r', '\n'};
            int b;
            while (matched < 4 && total < 8192 && (b = in.read()) >= 0) {
                total++;
                matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            if (total > 0) {
                out.write(response);
                out.flush();
            }
        } catch (IOException e) {
            // health checks connect and close: nothing to do
        }
    }
}
