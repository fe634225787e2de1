package io.tandem.tests;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Small loopback helpers for system tests. */
final class Net {
    private Net() {
    }

    /** A port that was free a moment ago (bind to 0, close). Good enough on loopback. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return s.getLocalPort();
        }
    }

    static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
        s.setSoTimeout(5000);
        return s;
    }

    /** True when a TCP connect to the port succeeds. */
    static boolean accepts(int port) {
        try (Socket s = connect(port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Writes {@code text} and reads exactly its echo back. */
    static String echo(Socket s, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(out);
        s.getOutputStream().flush();
        byte[] in = s.getInputStream().readNBytes(out.length);
        if (in.length != out.length) {
            throw new IOException("short echo: " + in.length + " of " + out.length + " bytes");
        }
        return new String(in, StandardCharsets.UTF_8);
    }

    /** One connection, one echo, closed. */
    static String echoOnce(int port, String text) throws IOException {
        try (Socket s = connect(port)) {
            return echo(s, text);
        }
    }

    /** Reads to EOF; returns -1 on EOF, or throws (e.g. connection reset). */
    static int readEof(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
            Arrays.fill(buf, (byte) 0);
        }
        return n;
    }
}
