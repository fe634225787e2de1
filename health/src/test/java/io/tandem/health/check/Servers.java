package io.tandem.health.check;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/** Tiny blocking servers on loopback, one virtual thread per connection. */
final class Servers {
    private Servers() {
    }

    /** 127.0.0.1 with no host name attached, as an address resolved from an IP literal. */
    static final InetAddress LOOPBACK = loopback();

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A TCP server that runs {@code session} for each accepted connection and counts accepts. */
    static final class Tcp implements AutoCloseable {
        final ServerSocket socket;
        final AtomicInteger accepts = new AtomicInteger();

        Tcp(BiConsumer<InputStream, OutputStream> session) throws IOException {
            socket = new ServerSocket(0, 50, LOOPBACK);
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        accepts.incrementAndGet();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                session.accept(s.getInputStream(), s.getOutputStream());
                            } catch (IOException | RuntimeException ignored) {
                                // probes reset their connections: expected
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        InetSocketAddress address() {
            return new InetSocketAddress(LOOPBACK, socket.getLocalPort());
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** Accepts and closes. */
    static Tcp acceptOnly() throws IOException {
        return new Tcp((in, out) -> {
        });
    }

    /** Writes a banner, then waits for the client to go away. */
    static Tcp banner(String banner) throws IOException {
        return banner(banner.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code banner} on connect, then waits for the client to close. */
    static Tcp banner(byte[] banner) throws IOException {
        return new Tcp((in, out) -> {
            try {
                out.write(banner);
                out.flush();
                in.read();
            } catch (IOException ignored) {
                // client reset
            }
        });
    }

    /** Answers each "PING" line with "+PONG\r\n" (Redis style). */
    static Tcp pingPong() throws IOException {
        return new Tcp((in, out) -> {
            try {
                StringBuilder line = new StringBuilder();
                int c;
                while ((c = in.read()) >= 0) {
                    if (c == '\n') {
                        if (line.toString().trim().equals("PING")) {
                            out.write("+PONG\r\n".getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        }
                        line.setLength(0);
                    } else {
                        line.append((char) c);
                    }
                }
            } catch (IOException ignored) {
                // client reset
            }
        });
    }

    /** A closed port: bound once, then released (connects are refused). */
    static InetSocketAddress closedTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            return new InetSocketAddress(LOOPBACK, s.getLocalPort());
        }
    }

    static InetSocketAddress closedUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, LOOPBACK)) {
            return new InetSocketAddress(LOOPBACK, s.getLocalPort());
        }
    }

    /** Echoes datagrams, optionally replacing the payload. */
    static final class UdpEcho implements AutoCloseable {
        final DatagramSocket socket;
        final AtomicInteger received = new AtomicInteger();
        final AtomicInteger sendFailures = new AtomicInteger();
        /** The payload of the last datagram received. */
        volatile byte[] last = new byte[0];

        UdpEcho(String reply) throws IOException {
            this(reply == null ? null : reply.getBytes(StandardCharsets.UTF_8));
        }

        /** Replies with {@code reply} (null: the datagram itself). */
        UdpEcho(byte[] reply) throws IOException {
            socket = new DatagramSocket(0, LOOPBACK);
            // A platform thread, and a failed send does not end the loop: a CI run once saw a
            // probe time out with no reply from this server (a virtual thread not scheduled, or
            // the loop ended by one failed send, would both look like that).
            Thread.ofPlatform().daemon().name("udp-echo-" + socket.getLocalPort()).start(() -> {
                byte[] buf = new byte[2048];
                while (!socket.isClosed()) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        socket.receive(p);
                    } catch (IOException e) {
                        return; // closed
                    }
                    last = java.util.Arrays.copyOf(p.getData(), p.getLength());
                    received.incrementAndGet();
                    byte[] out = reply == null ? last : reply;
                    try {
                        socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
                    } catch (IOException e) {
                        sendFailures.incrementAndGet();
                    }
                }
            });
        }

        InetSocketAddress address() {
            return new InetSocketAddress(LOOPBACK, socket.getLocalPort());
        }

        @Override
        public void close() {
            socket.close();
        }
    }
}
