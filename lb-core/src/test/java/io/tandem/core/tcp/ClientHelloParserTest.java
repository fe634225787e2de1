package io.tandem.core.tcp;

import static io.tandem.core.tcp.TlsHellos.extension;
import static io.tandem.core.tcp.TlsHellos.handshake;
import static io.tandem.core.tcp.TlsHellos.records;
import static io.tandem.core.tcp.TlsHellos.sni;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The SNI peek: real JDK hellos, every way a hello may be cut, and every way it can be wrong. */
class ClientHelloParserTest {
    private static final int MAX = 16_389;

    /** Feeds {@code bytes} whole. */
    private static ClientHelloParser.Result whole(byte[] bytes) {
        return new ClientHelloParser(MAX).feed(Unpooled.wrappedBuffer(bytes));
    }

    /** Feeds {@code bytes} in pieces of {@code step}; every answer before the last piece must be NeedMore. */
    private static ClientHelloParser.Result inSteps(byte[] bytes, int step, int max) {
        ClientHelloParser p = new ClientHelloParser(max);
        ByteBuf in = Unpooled.buffer();
        ClientHelloParser.Result r = null;
        for (int at = 0; at < bytes.length; at += step) {
            in.writeBytes(bytes, at, Math.min(step, bytes.length - at));
            r = p.feed(in);
            if (!(r instanceof ClientHelloParser.NeedMore)) {
                assertThat(in.readerIndex()).as("feed does not consume").isZero();
                return r;
            }
        }
        return r;
    }

    private static ClientHelloParser.ServerName name(String n) {
        return new ClientHelloParser.ServerName(n);
    }

    @Test
    void theJdksTls13AndTls12HellosNameTheirServer() {
        assertThat(whole(TlsHellos.jdk("api.example.com"))).isEqualTo(name("api.example.com"));
        assertThat(whole(TlsHellos.jdk("api.example.com", "TLSv1.2"))).isEqualTo(name("api.example.com"));
        assertThat(whole(TlsHellos.jdk("Mixed.Case.Example.ORG"))).as("the name as sent: matching folds case")
                .isEqualTo(name("Mixed.Case.Example.ORG"));
    }

    @Test
    void aHelloWithoutSniIsNone() {
        assertThat(whole(TlsHellos.jdk(null))).isInstanceOf(ClientHelloParser.None.class);
        assertThat(whole(records(handshake((byte[][]) null), 1 << 14))).isInstanceOf(ClientHelloParser.None.class);
        assertThat(whole(records(handshake(extension(10, new byte[] {0, 2, 0, 29})), 1 << 14)))
                .isEqualTo(new ClientHelloParser.None("no server_name extension"));
    }

    @Test
    void oneByteAtATimeIsAwaitedToTheLastByte() {
        byte[] hello = TlsHellos.jdk("one.byte.example");
        assertThat(inSteps(hello, 1, MAX)).isEqualTo(name("one.byte.example"));
        ClientHelloParser p = new ClientHelloParser(MAX);
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < hello.length - 1; i++) {
            in.writeByte(hello[i]);
            assertThat(p.feed(in)).as("after %d of %d bytes", i + 1, hello.length)
                    .isInstanceOf(ClientHelloParser.NeedMore.class);
        }
        in.writeByte(hello[hello.length - 1]).writeBytes("application data".getBytes(StandardCharsets.US_ASCII));
        assertThat(p.feed(in)).isEqualTo(name("one.byte.example"));
        assertThat(p.feed(in)).as("decided once").isEqualTo(name("one.byte.example"));
    }

    @Test
    void aHelloFragmentedOverManyRecordsIsReassembledWhateverTheCuts() {
        byte[] hs = handshake(sni("frag.example.net"));
        for (int fragment : new int[] {1, 2, 3, 4, 5, 7, 50, hs.length - 1, hs.length}) {
            byte[] wire = records(hs, fragment);
            for (int step : new int[] {1, 3, 6, 1000, wire.length}) {
                assertThat(inSteps(wire, step, MAX)).as("records of %d, reads of %d", fragment, step)
                        .isEqualTo(name("frag.example.net"));
            }
        }
    }

    @Test
    void extensionsBeforeTheServerNameAndGreaseAreSkipped() {
        byte[] hs = handshake(extension(0x0a0a, new byte[0]), extension(43, new byte[] {4, 3, 4, 3, 3}),
                extension(0x2a2a, new byte[] {0}), extension(0xff01, new byte[] {0}), sni("late.example.com"),
                extension(0x3a3a, new byte[] {1, 2, 3}));
        assertThat(whole(records(hs, 1 << 14))).isEqualTo(name("late.example.com"));
    }

    @Test
    void anSslv2StyleHelloIsTlsWithoutAName() {
        // SSLv2-compatible CLIENT-HELLO: length with the high bit, type 1, version 3.1, lengths, data.
        byte[] v2 = {(byte) 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10};
        byte[] hello = Arrays.copyOf(v2, 2 + 0x2e);
        assertThat(whole(hello)).isInstanceOf(ClientHelloParser.None.class);
        assertThat(inSteps(hello, 1, MAX)).isInstanceOf(ClientHelloParser.None.class);
    }

    @Test
    void garbageAndOtherProtocolsAreMalformedAtTheFirstByte() {
        for (String s : new String[] {"GET / HTTP/1.1\r\n", "SSH-2.0-OpenSSH_9.6\r\n", "PROXY TCP4 ", "\0\0\0\0"}) {
            ClientHelloParser p = new ClientHelloParser(MAX);
            ByteBuf in = Unpooled.buffer().writeByte(s.charAt(0));
            assertThat(p.feed(in)).as(s).isInstanceOf(ClientHelloParser.Malformed.class);
        }
        assertThat(whole(new byte[] {(byte) 0x80, 0x10, 0x02})).as("SSLv2 but not a CLIENT-HELLO")
                .isInstanceOf(ClientHelloParser.Malformed.class);
        Random random = new Random(22);
        for (int i = 0; i < 2000; i++) { // never throws, always decides or waits within the bound
            byte[] junk = new byte[random.nextInt(300)];
            random.nextBytes(junk);
            if (junk.length > 0 && random.nextBoolean()) {
                junk[0] = 0x16;
            }
            ClientHelloParser.Result r = inSteps(junk, 1 + random.nextInt(40), 200);
            assertThat(r == null || r instanceof ClientHelloParser.NeedMore || r instanceof ClientHelloParser.Malformed
                    || r instanceof ClientHelloParser.None || r instanceof ClientHelloParser.ServerName).isTrue();
        }
    }

    @Test
    void aRecordOfAnotherTypeOrVersionBeforeTheHelloEndsIsMalformed() {
        byte[] wire = records(handshake(sni("x.example")), 20);
        byte[] alert = wire.clone();
        alert[25] = 0x15; // the second record's type
        assertThat(inSteps(alert, 1, MAX)).isInstanceOf(ClientHelloParser.Malformed.class);
        byte[] version = wire.clone();
        version[26] = 2;
        assertThat(inSteps(version, 1, MAX)).isInstanceOf(ClientHelloParser.Malformed.class);
        byte[] empty = {0x16, 3, 1, 0, 0};
        assertThat(whole(empty)).as("an empty handshake record").isInstanceOf(ClientHelloParser.Malformed.class);
        byte[] serverHello = records(new byte[] {2, 0, 0, 1, 0}, 100);
        assertThat(whole(serverHello)).isInstanceOf(ClientHelloParser.Malformed.class);
    }

    @Test
    void lengthsThatDoNotAddUpAreMalformed() {
        byte[] hs = handshake(sni("ok.example"));
        // extensions block one byte longer than what is left
        byte[] longer = hs.clone();
        int extLenAt = 4 + 2 + 32 + 1 + 32 + 2 + 4 + 1 + 1;
        longer[extLenAt + 1]++;
        assertThat(whole(records(longer, 1 << 14))).isInstanceOf(ClientHelloParser.Malformed.class);
        // the name list length disagreeing with the extension's
        byte[] list = hs.clone();
        list[extLenAt + 2 + 4 + 1]++;
        assertThat(whole(records(list, 1 << 14))).isInstanceOf(ClientHelloParser.Malformed.class);
        // the same extension twice
        assertThat(whole(records(handshake(sni("a.example"), sni("b.example")), 1 << 14)))
                .isInstanceOf(ClientHelloParser.Malformed.class);
        // a host name with a NUL or a space
        assertThat(whole(records(handshake(sni("a\0b.example")), 1 << 14))).isInstanceOf(ClientHelloParser.Malformed.class);
        assertThat(whole(records(handshake(sni("a b")), 1 << 14))).isInstanceOf(ClientHelloParser.Malformed.class);
        // cut inside the body: the handshake length says more than the records carry, then another type
        byte[] cut = records(Arrays.copyOf(hs, hs.length - 3), 1 << 14);
        assertThat(whole(cut)).as("truncated: waits for the rest").isInstanceOf(ClientHelloParser.NeedMore.class);
        assertThat(whole(TlsHellos.concat(cut, new byte[] {0x17, 3, 3, 0, 1, 0})))
                .isInstanceOf(ClientHelloParser.Malformed.class);
    }

    @Test
    void theBoundHoldsForOneHugeHelloAndForManySmallRecords() {
        byte[] padding = extension(21, new byte[20_000]); // padding extension: a 20 KB hello
        byte[] huge = records(handshake(padding, sni("big.example")), 1 << 14);
        assertThat(whole(huge)).isInstanceOf(ClientHelloParser.Malformed.class);
        assertThat(inSteps(huge, 1, MAX)).isInstanceOf(ClientHelloParser.Malformed.class);
        // Just under the bound in 1-byte records: 6 bytes of wire per handshake byte; the bound
        // counts wire bytes, so this is refused as soon as the records pass it.
        byte[] small = records(handshake(extension(21, new byte[3000]), sni("small.example")), 1);
        ClientHelloParser.Result r = inSteps(small, 1, MAX);
        assertThat(r).isInstanceOf(ClientHelloParser.Malformed.class);
        // A hello that fits once the bound is raised.
        assertThat(inSteps(small, 1000, 65_536)).isEqualTo(name("small.example"));
        // A 16 KB hello in one record: within the default bound.
        byte[] full = records(handshake(extension(21, new byte[16_384 - 200]), sni("full.example")), 1 << 14);
        assertThat(inSteps(full, 1, MAX)).isEqualTo(name("full.example"));
    }

    @Test
    void truncatedHelloStaysNeedMoreUntilTheBound() {
        byte[] hello = TlsHellos.jdk("t.example");
        byte[] cut = Arrays.copyOf(hello, hello.length - 1);
        assertThat(inSteps(cut, 7, MAX)).isInstanceOf(ClientHelloParser.NeedMore.class);
        assertThat(inSteps(new byte[] {0x16, 3}, 1, MAX)).isInstanceOf(ClientHelloParser.NeedMore.class);
    }
}
