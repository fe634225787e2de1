package io.tandem.core.namedvip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.tandem.config.DiscoverySettings;
import io.tandem.config.HostPort;
import io.tandem.core.transport.Transport;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.naming.NameNotFoundException;
import javax.naming.directory.Attribute;
import javax.naming.directory.InitialDirContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The named-VIP DNS responder on real sockets: {@code dig} over UDP and TCP, the JDK's own DNS
 * client (JNDI), truncation to TCP, and a fuzz of malformed input after which it still answers.
 */
class NamedVipDnsIT {

    private static final String SUFFIX = "marathon.l4lb.thisdcos.directory";
    private EventLoopGroup group;
    private NamedVipDns dns;

    static Stream<String> transports() {
        return Epoll.isAvailable() ? Stream.of("epoll", "nio") : Stream.of("nio");
    }

    private NamedVipDns start(String transport, Map<String, String> vips) {
        Transport t = transport.equals("epoll") ? Transport.epollTransport() : Transport.nioTransport();
        group = t.newGroup(1, "dns-it");
        dns = NamedVipDns.start(new DiscoverySettings.NamedVipDns(HostPort.of("127.0.0.1", 0), SUFFIX,
                Duration.ofSeconds(5)), group, t, new SimpleMeterRegistry());
        dns.update(vips);
        return dns;
    }

    @AfterEach
    void stop() {
        if (dns != null) {
            dns.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static final Map<String, String> ORDERS = Map.of("/orders:8080/tcp", "198.18.175.99:8080");

    @ParameterizedTest
    @MethodSource("transports")
    void digGetsTheAddressOverUdpAndTcpAndNxdomainForOthers(String transport) throws Exception {
        assumeTrue(hasDig(), "dig is not installed (Debian: bind9-dnsutils; .ci/run installs it)");
        NamedVipDns d = start(transport, ORDERS);
        int port = d.udpAddress().getPort();
        assertThat(d.tcpAddress().getPort()).isEqualTo(port);
        assertThat(dig(port, "+short", "orders." + SUFFIX)).isEqualTo("198.18.175.99");
        assertThat(dig(port, "+short", "+tcp", "orders." + SUFFIX)).isEqualTo("198.18.175.99");
        assertThat(dig(port, "+short", "orders." + SUFFIX, "SRV")).isEqualTo("0 1 8080 orders." + SUFFIX + ".");
        assertThat(dig(port, "payments." + SUFFIX)).contains("status: NXDOMAIN").contains("flags: qr aa");
        assertThat(dig(port, "example.com")).contains("status: REFUSED");
    }

    @ParameterizedTest
    @MethodSource("transports")
    void theJdkResolverReadsTheAnswerThroughJndi(String transport) throws Exception {
        NamedVipDns d = start(transport, ORDERS);
        Hashtable<String, String> env = new Hashtable<>();
        env.put("java.naming.factory.initial", "com.sun.jndi.dns.DnsContextFactory");
        env.put("java.naming.provider.url", "dns://127.0.0.1:" + d.udpAddress().getPort());
        InitialDirContext ctx = new InitialDirContext(env);
        try {
            Attribute a = ctx.getAttributes("orders." + SUFFIX, new String[] {"A"}).get("A");
            assertThat(a.get()).isEqualTo("198.18.175.99");
            Attribute srv = ctx.getAttributes("_orders._tcp." + SUFFIX, new String[] {"SRV"}).get("SRV");
            assertThat(srv.get()).isEqualTo("0 1 8080 orders." + SUFFIX + ".");
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() ->
                    ctx.getAttributes("payments." + SUFFIX, new String[] {"A"}))).isInstanceOf(NameNotFoundException.class);
        } finally {
            ctx.close();
        }
    }

    @Test
    void anAnswerTooBigForUdpIsTruncatedAndWholeOverTcp() throws Exception {
        Map<String, String> many = new LinkedHashMap<>();
        for (int p = 1; p <= 60; p++) {
            many.put("/orders:" + p + "/tcp", "198.18.175.99:" + p);
        }
        NamedVipDns d = start("nio", many);
        byte[] q = query(42, "orders." + SUFFIX, 33);
        byte[] udp = udp(d.udpAddress(), q);
        assertThat(id(udp)).isEqualTo(42);
        assertThat(udp[2] & 0x02).as("TC").isNotZero();
        byte[] tcp = tcp(d.tcpAddress(), q);
        assertThat(tcp[2] & 0x02).isZero();
        assertThat(ByteBuffer.wrap(tcp, 6, 2).getShort()).as("ANCOUNT").isEqualTo((short) 60);
    }

    /**
     * Malformed, hostile and random input: nothing crashes, responses are never answered (no
     * loops between two responders), bad TCP streams are closed, and a good query still works
     * after each round.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void malformedInputNeverStopsTheResponder(String transport) throws Exception {
        NamedVipDns d = start(transport, ORDERS);
        byte[] good = query(7, "orders." + SUFFIX, 1);
        List<byte[]> crafted = List.of(
                new byte[0], new byte[] {1}, new byte[11],
                header(1, 0x0100, 0xffff), // 65535 questions announced, none sent
                withQuestion(header(2, 0x0100, 1), new byte[] {(byte) 0xc0, 12, 0, 1, 0, 1}), // pointer to itself
                withQuestion(header(3, 0x0100, 1), new byte[] {63, 'a', 0, 1}), // label longer than the packet
                withQuestion(header(4, 0x0100, 2), nameAndType("orders." + SUFFIX, 1)), // two questions announced
                withQuestion(header(5, 0x8100, 1), nameAndType("orders." + SUFFIX, 1))); // a response, not a query
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(300);
            for (byte[] c : crafted) {
                s.send(new DatagramPacket(c, c.length, d.udpAddress()));
            }
            Random r = new Random(20);
            for (int i = 0; i < 2000; i++) {
                byte[] junk = new byte[r.nextInt(600)];
                r.nextBytes(junk);
                if (junk.length > 2) {
                    junk[2] &= 0x7f; // mostly "queries", to reach the parser's depths
                }
                s.send(new DatagramPacket(junk, junk.length, d.udpAddress()));
            }
            // the one crafted response must not be answered: drain and check no reply carries id 5
            byte[] buf = new byte[4096];
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < until) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    s.receive(p);
                } catch (SocketTimeoutException e) {
                    break;
                }
                assertThat(id(buf)).as("a response is never answered").isNotEqualTo(5);
                if (id(buf) == 4) {
                    assertThat(buf[3] & 0x0f).as("two questions: FORMERR").isEqualTo(1);
                }
            }
        }
        assertThat(udp(d.udpAddress(), good)).satisfies(resp -> assertThat(id(resp)).isEqualTo(7));
        Random r = new Random(21);
        for (int i = 0; i < 50; i++) {
            try (Socket s = new Socket()) {
                s.connect(d.tcpAddress(), 2000);
                s.setSoTimeout(2000);
                byte[] junk = new byte[r.nextInt(300)];
                r.nextBytes(junk);
                s.getOutputStream().write(junk);
                s.shutdownOutput();
                while (s.getInputStream().read() >= 0) {
                    // whatever it answers, the connection ends
                }
            } catch (IOException e) {
                // a reset is a fine end too
            }
        }
        assertThat(tcp(d.tcpAddress(), good)).satisfies(resp -> assertThat(id(resp)).isEqualTo(7));
        assertThat(udp(d.udpAddress(), good)).satisfies(resp -> assertThat(id(resp)).isEqualTo(7));
    }

    // ------------------------------------------------------------------ helpers

    static boolean hasDig() {
        try {
            Process p = new ProcessBuilder("dig", "-v").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String dig(int port, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port),
                "+time=2", "+tries=1"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private static byte[] header(int id, int flags, int qdcount) {
        return ByteBuffer.allocate(12).putShort((short) id).putShort((short) flags).putShort((short) qdcount).array();
    }

    private static byte[] withQuestion(byte[] header, byte[] question) {
        byte[] out = new byte[header.length + question.length];
        System.arraycopy(header, 0, out, 0, header.length);
        System.arraycopy(question, 0, out, header.length, question.length);
        return out;
    }

    private static byte[] nameAndType(String name, int type) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        NamedVipZone.writeName(b, name);
        b.write(type >>> 8);
        b.write(type);
        b.write(0);
        b.write(1);
        return b.toByteArray();
    }

    static byte[] query(int id, String name, int type) {
        return withQuestion(header(id, 0x0100, 1), nameAndType(name, type));
    }

    private static int id(byte[] msg) {
        return ((msg[0] & 0xff) << 8) | (msg[1] & 0xff);
    }

    static byte[] udp(InetSocketAddress to, byte[] q) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(3000);
            s.send(new DatagramPacket(q, q.length, to));
            byte[] buf = new byte[65_535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            s.receive(p);
            return java.util.Arrays.copyOf(buf, p.getLength());
        }
    }

    static byte[] tcp(InetSocketAddress to, byte[] q) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(to, 3000);
            s.setSoTimeout(3000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(q.length);
            out.write(q);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] resp = new byte[in.readUnsignedShort()];
            in.readFully(resp);
            return resp;
        }
    }
}
