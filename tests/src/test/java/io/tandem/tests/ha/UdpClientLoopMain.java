package io.tandem.tests.ha;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The UDP twin of {@link ClientLoopMain}: every INTERVAL ms a new socket (a new source port, so
 * the router's 5-tuple hash may pick another node) sends one datagram to each target and waits up
 * to 1 s for the answer, which must come from a backend and carry the query back. Prints
 * {@code R <host> <startMillis> <endMillis> ok|fail <detail>} like {@link ClientLoopMain}.
 * {@code UdpClientLoopMain DURATION_MS INTERVAL_MS OWNER_PID HOST:PORT...} (IPv6 as {@code [addr]:port}).
 */
public final class UdpClientLoopMain {
    private UdpClientLoopMain() {
    }

    public static void main(String[] args) throws Exception {
        ClientLoopMain.runTargets(args, "udp-", UdpClientLoopMain::loop);
    }

    private static void loop(String target, long end, long interval) {
        String host = target.substring(0, target.lastIndexOf(':'));
        int port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
        InetAddress address = InetAddress.ofLiteral(host.replace("[", "").replace("]", ""));
        int n = 0;
        while (System.currentTimeMillis() < end && n < 100_000) {
            long start = System.currentTimeMillis();
            String query = "q" + n++;
            String result;
            try (DatagramSocket s = new DatagramSocket()) {
                s.connect(new InetSocketAddress(address, port));
                s.setSoTimeout(1000);
                byte[] q = query.getBytes(StandardCharsets.US_ASCII);
                s.send(new DatagramPacket(q, q.length));
                DatagramPacket answer = new DatagramPacket(new byte[2048], 2048);
                s.receive(answer);
                String text = new String(answer.getData(), 0, answer.getLength(), StandardCharsets.US_ASCII);
                result = text.startsWith("backend=") && text.endsWith(" " + query) ? "ok udp"
                        : "fail bad-answer:" + text.length();
            } catch (IOException e) {
                result = "fail " + e.getClass().getSimpleName() + ":" + String.valueOf(e.getMessage()).replace(' ', '_');
            }
            if (!ClientLoopMain.report(host, start, result, interval)) {
                return;
            }
        }
    }
}
