package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The layer-4 admission and balancing keys of a VIP: {@code acl} (parsing, errors, the
 * longest-prefix rule against a brute-force oracle), {@code limits.per_client} and
 * {@code hash_balance_factor}.
 */
class L4FeaturesConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    private static Cidr cidr(String s) {
        return Cidr.parse(s).cidr().orElseThrow(() -> new AssertionError(s + ": " + Cidr.parse(s).error()));
    }

    private static InetAddress ip(String s) {
        return InetAddress.ofLiteral(s);
    }

    private static AccessControl acl(List<String> allow, List<String> deny) {
        return new AccessControl(allow.stream().map(L4FeaturesConfigTest::cidr).toList(),
                deny.stream().map(L4FeaturesConfigTest::cidr).toList());
    }

    @Test
    void theLongestMatchingPrefixDecidesWhicheverListHoldsIt() {
        AccessControl a = acl(List.of("10.1.2.0/24"), List.of("10.0.0.0/8"));
        assertThat(a.allows(ip("10.1.2.7"))).isTrue();
        assertThat(a.allows(ip("10.9.9.9"))).isFalse();
        assertThat(a.allows(ip("192.0.2.1"))).as("no match, allow list not empty: refused").isFalse();

        AccessControl b = acl(List.of("10.0.0.0/8"), List.of("10.1.2.0/24", "10.1.2.128/25"));
        assertThat(b.allows(ip("10.200.0.1"))).isTrue();
        assertThat(b.allows(ip("10.1.2.200"))).isFalse();

        AccessControl denyOnly = acl(List.of(), List.of("192.0.2.66", "2001:db8:bad::/48"));
        assertThat(denyOnly.allows(ip("192.0.2.66"))).isFalse();
        assertThat(denyOnly.allows(ip("192.0.2.67"))).as("no match, deny list only: admitted").isTrue();
        assertThat(denyOnly.allows(ip("2001:db8:bad::1"))).isFalse();
        assertThat(denyOnly.allows(ip("2001:db8:bae::1"))).isTrue();
    }

    @Test
    void ipv4ClientsOfADualStackListenerMatchIpv4PrefixesAndAnIpv4AllowListRefusesIpv6() {
        AccessControl a = acl(List.of("127.0.0.0/8"), List.of());
        assertThat(a.allows(ip("::ffff:127.0.0.1"))).isTrue();
        assertThat(a.allows(ip("::1"))).isFalse();
        assertThat(acl(List.of("0.0.0.0/0"), List.of()).allows(ip("2001:db8::1"))).isFalse();
        assertThat(acl(List.of("::/0"), List.of("0.0.0.0/0")).allows(ip("2001:db8::1"))).isTrue();
        assertThat(acl(List.of("::/0"), List.of("0.0.0.0/0")).allows(ip("192.0.2.1"))).as("/0 of v4 is /96 in v6")
                .isFalse();
        assertThat(AccessControl.OPEN.allows(ip("192.0.2.1"))).isTrue();
        assertThat(AccessControl.OPEN.isOpen()).isTrue();
    }

    @Test
    void edgesOfTheAddressSpace() {
        AccessControl a = acl(List.of("255.255.255.255", "0.0.0.0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
                "::/128"), List.of());
        for (String s : List.of("255.255.255.255", "0.0.0.0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::")) {
            assertThat(a.allows(ip(s))).as(s).isTrue();
        }
        for (String s : List.of("255.255.255.254", "0.0.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "::1")) {
            assertThat(a.allows(ip(s))).as(s).isFalse();
        }
        AccessControl all = acl(List.of("::/0"), List.of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"));
        assertThat(all.allows(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))).isFalse();
        assertThat(all.allows(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"))).isTrue();
        assertThat(all.allows(ip("::"))).isTrue();
    }

    /** Random nested and disjoint prefixes (v4 and v6), checked address by address against a linear scan. */
    @Test
    void agreesWithABruteForceLongestPrefixMatch() {
        Random random = new Random(20261207);
        for (int round = 0; round < 200; round++) {
            List<Cidr> allow = new ArrayList<>();
            List<Cidr> deny = new ArrayList<>();
            java.util.Set<Cidr> seen = new java.util.HashSet<>();
            int n = 1 + random.nextInt(40);
            for (int i = 0; i < n; i++) {
                Cidr c = randomCidr(random);
                if (seen.add(c)) {
                    (random.nextBoolean() ? allow : deny).add(c);
                }
            }
            AccessControl a = new AccessControl(allow, deny);
            for (int probe = 0; probe < 300; probe++) {
                InetAddress addr = randomAddress(random, allow, deny);
                assertThat(a.allows(addr)).as("round %d, %s in allow=%s deny=%s", round, addr, allow, deny)
                        .isEqualTo(oracle(allow, deny, addr));
            }
        }
    }

    @Test
    void thousandsOfPrefixesFlattenToRangesAndStillAnswer() {
        List<Cidr> deny = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            deny.add(cidr("10." + (i / 256) + "." + (i % 256) + ".0/24"));
        }
        AccessControl a = new AccessControl(List.of(cidr("10.0.0.0/8")), deny);
        assertThat(a.allows(ip("10.0.5.1"))).isFalse();
        assertThat(a.allows(ip("10.19.135.1"))).as("5000 = 19*256 + 136: 10.19.136.0/24 is the first not denied")
                .isFalse();
        assertThat(a.allows(ip("10.19.136.1"))).isTrue();
        assertThat(a.ranges()).as("adjacent /24s of one verdict merge").isEqualTo(2);
    }

    @Test
    void parsedFromTheVipAndShownInTheConfigDump() {
        TandemConfig c = valid("""
                vips:
                  - name: db
                    listen: 127.0.0.1:5432
                    backends: [127.0.0.1:9001]
                    acl: {allow: [10.0.0.0/8, "2001:db8::/32"], deny: [10.1.2.3]}
                """);
        AccessControl a = c.vips().getFirst().acl();
        assertThat(a.allow()).containsExactly(cidr("10.0.0.0/8"), cidr("2001:db8::/32"));
        assertThat(a.deny()).containsExactly(cidr("10.1.2.3/32"));
        assertThat(ConfigDump.of(c).toString()).contains("acl={allow=[10.0.0.0/8, 2001:db8:0:0:0:0:0:0/32], deny=[10.1.2.3/32]}");
        assertThat(valid("vips: [{name: w, listen: 127.0.0.1:80, backends: [127.0.0.1:9001]}]").vips().getFirst().acl())
                .isEqualTo(AccessControl.OPEN);
    }

    @Test
    void badPrefixesAreNamedWithWhatWasExpected() {
        List<String> e = errors("""
                vips:
                  - name: db
                    listen: 127.0.0.1:5432
                    backends: [127.0.0.1:9001]
                    acl:
                      allow: [10.1.2.3/8, 10.0.0.0/33, not-an-address, 42, "2001:db8::/129", 192.0.2.0/24]
                      deny: [192.0.2.0/24]
                      permit: []
                """);
        assertThat(String.join("\n", e))
                .contains("vips[0].acl.allow[0]: \"10.1.2.3/8\"", "host bits zero: 10.0.0.0/8")
                .contains("vips[0].acl.allow[1]: \"10.0.0.0/33\"", "a prefix length 0..32 for IPv4")
                .contains("vips[0].acl.allow[2]: \"not-an-address\"", "an IPv4 or IPv6 prefix")
                .contains("vips[0].acl.allow[3]: 42")
                .contains("vips[0].acl.allow[4]", "0..128 for IPv6")
                .contains("vips[0].acl.deny[0]: \"192.0.2.0/24\"", "vips[0].acl.allow[5] has the same")
                .contains("vips[0].acl.permit");
        assertThat(errors("vips: [{name: w, listen: 127.0.0.1:80, backends: [127.0.0.1:9001], acl: {allow: 10.0.0.0/8}}]"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].acl.allow", "a list of IPv4 or IPv6 prefixes"));
    }

    private static boolean oracle(List<Cidr> allow, List<Cidr> deny, InetAddress a) {
        int best = -1;
        boolean verdict = allow.isEmpty();
        for (Cidr c : allow) {
            int len = weight(c);
            if (matches(c, a) && len > best) {
                best = len;
                verdict = true;
            }
        }
        for (Cidr c : deny) {
            int len = weight(c);
            if (matches(c, a) && len > best) {
                best = len;
                verdict = false;
            }
        }
        return verdict;
    }

    /** A v4 prefix lives at /96+len of the v6 space, where it competes with v6 prefixes (e.g. ::/0). */
    private static int weight(Cidr c) {
        return c.network() instanceof java.net.Inet4Address ? 96 + c.length() : c.length();
    }

    private static boolean matches(Cidr c, InetAddress a) {
        byte[] b = a.getAddress();
        if (c.network() instanceof java.net.Inet4Address) {
            return b.length == 4 && c.contains(a);
        }
        if (b.length == 4) { // as ::ffff:a.b.c.d
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(b, 0, mapped, 12, 4);
            return java.util.Arrays.equals(Cidr.mask(mapped, c.length()), c.network().getAddress());
        }
        return c.contains(a);
    }

    private static Cidr randomCidr(Random r) {
        if (r.nextInt(4) == 0) {
            byte[] b = new byte[16];
            b[0] = 0x20;
            b[1] = 0x01;
            b[2] = 0x0d;
            b[3] = (byte) 0xb8;
            b[4] = (byte) r.nextInt(4);
            b[15] = (byte) r.nextInt(4);
            int len = r.nextInt(129);
            return new Cidr(addr(Cidr.mask(b, len)), len);
        }
        byte[] b = {10, (byte) r.nextInt(4), (byte) r.nextInt(4), (byte) r.nextInt(8)};
        int len = r.nextInt(33);
        return new Cidr(addr(Cidr.mask(b, len)), len);
    }

    private static InetAddress randomAddress(Random r, List<Cidr> allow, List<Cidr> deny) {
        List<Cidr> all = new ArrayList<>(allow);
        all.addAll(deny);
        Cidr near = all.get(r.nextInt(all.size()));
        byte[] b = near.network().getAddress().clone();
        int flips = r.nextInt(3);
        for (int i = 0; i < flips; i++) {
            int bit = r.nextInt(b.length * 8);
            b[bit / 8] ^= (byte) (0x80 >>> (bit % 8));
        }
        if (r.nextInt(5) == 0) {
            b[b.length - 1] = (byte) (b[b.length - 1] + (r.nextBoolean() ? 1 : -1));
        }
        return addr(b);
    }

    private static InetAddress addr(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void perClientLimitsParseWithTheirDefaultsAndNeedALimit() {
        Limits l = valid("""
                vips:
                  - name: db
                    listen: 127.0.0.1:5432
                    backends: [127.0.0.1:9001]
                    limits: {max_connections: 1000, per_client: {max_connections: 20, max_rate: 50}}
                """).vips().getFirst().limits();
        assertThat(l.perClient()).isEqualTo(new Limits.PerClient(20, 50, 32, 64, 100_000));
        assertThat(l.perClient().enabled()).isTrue();
        assertThat(Limits.UNLIMITED.perClient().enabled()).isFalse();
        assertThat(errors("""
                vips:
                  - name: db
                    listen: 127.0.0.1:5432
                    backends: [127.0.0.1:9001]
                    limits: {per_client: {ipv6_prefix: 200, max_clients: 5}}
                """)).anySatisfy(x -> assertThat(x).contains("vips[0].limits.per_client.max_connections: missing"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].limits.per_client.ipv6_prefix: 200"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].limits.per_client.max_clients: 5"));
    }

    @Test
    void hashBalanceFactorGoesWithMaglevOnly() {
        assertThat(valid("""
                vips: [{name: w, listen: 127.0.0.1:80, policy: maglev, hash_balance_factor: 125, backends: [127.0.0.1:9001]}]
                """).vips().getFirst().hashBalanceFactor()).isEqualTo(125);
        assertThat(errors("""
                vips: [{name: w, listen: 127.0.0.1:80, hash_balance_factor: 125, backends: [127.0.0.1:9001]}]
                """)).anySatisfy(x -> assertThat(x).contains("vips[0].hash_balance_factor", "unless policy is maglev"));
        assertThat(errors("""
                vips: [{name: w, listen: 127.0.0.1:80, policy: maglev, hash_balance_factor: 99, backends: [127.0.0.1:9001]}]
                """)).anySatisfy(x -> assertThat(x).contains("vips[0].hash_balance_factor: 99", "100..10000"));
    }

    @Test
    void proxyProtocolInParsesOnTcpVipsOnly() {
        ProxyProtocolIn in = valid("""
                vips:
                  - name: w
                    listen: 127.0.0.1:80
                    backends: [127.0.0.1:9001]
                    proxy_protocol_in: {from: [10.0.0.0/8], timeout: 500ms}
                """).vips().getFirst().proxyProtocolIn();
        assertThat(in.enabled()).isTrue();
        assertThat(in.timeout()).isEqualTo(java.time.Duration.ofMillis(500));
        assertThat(in.from().allows(ip("10.1.1.1"))).isTrue();
        assertThat(in.from().allows(ip("192.0.2.1"))).isFalse();
        assertThat(valid("vips: [{name: w, listen: 127.0.0.1:80, backends: [127.0.0.1:9001]}]").vips().getFirst()
                .proxyProtocolIn().enabled()).isFalse();
        assertThat(errors("""
                vips:
                  - name: u
                    listen: 127.0.0.1:53
                    protocol: udp
                    backends: [127.0.0.1:9001]
                    proxy_protocol_in: {enabled: true, from: [10.0.0.1/8], max_length: 10}
                """)).anySatisfy(x -> assertThat(x).contains("vips[0].proxy_protocol_in", "udp VIP"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].proxy_protocol_in.from[0]", "10.0.0.0/8"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].proxy_protocol_in.max_length: 10"));
    }
}
