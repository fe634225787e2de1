package io.tandem.tests.ha;

import io.tandem.tests.support.OwnerWatch;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A UDP backend for the routed-VIP tests: answers every datagram with {@code backend=NAME <the
 * datagram>}. Prints {@link #READY} once bound; exits with its owner (the test JVM).
 * {@code UdpEchoMain ADDRESS PORT NAME OWNER_PID}
 */
public final class UdpEchoMain {
    static final String READY = "udp echo ready";

    private UdpEchoMain() {
    }

    public static void main(String[] args) throws Exception {
        DatagramSocket socket = new DatagramSocket(
                new InetSocketAddress(InetAddress.ofLiteral(args[0]), Integer.parseInt(args[1])));
        byte[] prefix = ("backend=" + args[2] + " ").getBytes(StandardCharsets.US_ASCII);
        OwnerWatch.exitWithOwner(Long.parseLong(args[3]));
        System.out.println(READY);
        System.out.flush();
        byte[] buf = new byte[2048];
        while (true) {
            DatagramPacket in = new DatagramPacket(buf, buf.length);
            socket.receive(in);
            byte[] out = new byte[prefix.length + in.getLength()];
            System.arraycopy(prefix, 0, out, 0, prefix.length);
            System.arraycopy(in.getData(), in.getOffset(), out, prefix.length, in.getLength());
            socket.send(new DatagramPacket(out, out.length, in.getSocketAddress()));
        }
    }
}
