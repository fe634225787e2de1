package io.tandem.core.namedvip;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the named-VIP responder answers, question by question (no sockets). */
class NamedVipZoneTest {

    private static final String SUFFIX = "marathon.l4lb.thisdcos.directory";
    private final NamedVipZone zone = NamedVipZone.of(SUFFIX, 5, 7, Map.of(
            "/orders:8080/tcp", "198.18.175.99:8080",
            "/orders:8080/udp", "198.18.175.99:8080",
            "/orders:9090/tcp", "198.18.175.99:9090",
            "/grp/my_app:80/tcp", "198.18.128.9:80",
            "/v6:443/tcp", "[fd00::5]:443",
            "broken", "x"));

    @Test
    void vipNamesBecomeDnsLabelsAsDcosMakesThem() {
        assertThat(NamedVipZone.dnsName("/orders")).isEqualTo("orders");
        assertThat(NamedVipZone.dnsName("/grp/my_app")).isEqualTo("grpmy-app");
        assertThat(NamedVipZone.dnsName("/Shop/Cart.v2")).isEqualTo("shopcart.v2");
        assertThat(NamedVipZone.dnsName("a".repeat(70))).hasSize(63);
        assertThat(NamedVipZone.dnsName("/")).isEmpty();
    }

    @Test
    void aNamedVipAnswersItsAddressAuthoritativelyInAnyCase() throws Exception {
        NamedVipZone.Answer a = zone.answer("Orders.Marathon.L4LB.thisdcos.directory.", NamedVipZone.A);
        assertThat(a.rcode()).isEqualTo(NamedVipZone.NOERROR);
        assertThat(a.authoritative()).isTrue();
        assertThat(a.answers()).singleElement().satisfies(rr -> {
            assertThat(rr.type()).isEqualTo(NamedVipZone.A);
            assertThat(rr.ttl()).isEqualTo(5);
            assertThat(InetAddress.getByAddress(rr.rdata()).getHostAddress()).isEqualTo("198.18.175.99");
        });
        assertThat(zone.answer("grpmy-app." + SUFFIX, NamedVipZone.A).answers()).hasSize(1);
        assertThat(zone.answer("v6." + SUFFIX, NamedVipZone.AAAA).answers()).singleElement()
                .satisfies(rr -> assertThat(InetAddress.getByAddress(rr.rdata()).getHostAddress()).isEqualTo("fd00:0:0:0:0:0:0:5"));
    }

    @Test
    void srvGivesEachPortAndTheTargetsAddressAsAdditionalData() {
        NamedVipZone.Answer all = zone.answer("orders." + SUFFIX, NamedVipZone.SRV);
        assertThat(all.answers()).extracting(rr -> port(rr.rdata())).containsExactlyInAnyOrder(8080, 9090);
        assertThat(all.additional()).singleElement().satisfies(rr -> assertThat(rr.type()).isEqualTo(NamedVipZone.A));
        NamedVipZone.Answer udp = zone.answer("_orders._udp." + SUFFIX, NamedVipZone.SRV);
        assertThat(udp.answers()).singleElement().satisfies(rr -> {
            assertThat(port(rr.rdata())).isEqualTo(8080);
            assertThat(rr.name()).isEqualTo("_orders._udp." + SUFFIX);
        });
        assertThat(zone.answer("_orders._sctp." + SUFFIX, NamedVipZone.SRV).rcode()).isEqualTo(NamedVipZone.NXDOMAIN);
    }

    private static int port(byte[] srv) {
        return ByteBuffer.wrap(srv, 4, 2).getShort() & 0xffff;
    }

    @Test
    void unknownNamesUnderTheSuffixAreNxdomainWithTheSoaAndOtherZonesAreRefused() {
        NamedVipZone.Answer nx = zone.answer("payments." + SUFFIX, NamedVipZone.A);
        assertThat(nx.rcode()).isEqualTo(NamedVipZone.NXDOMAIN);
        assertThat(nx.authoritative()).isTrue();
        assertThat(nx.authority()).singleElement().satisfies(rr -> assertThat(rr.type()).isEqualTo(NamedVipZone.SOA));
        NamedVipZone.Answer out = zone.answer("example.com", NamedVipZone.A);
        assertThat(out.rcode()).isEqualTo(NamedVipZone.REFUSED);
        assertThat(out.authoritative()).isFalse();
        assertThat(zone.answer("xmarathon.l4lb.thisdcos.directory", NamedVipZone.A).rcode())
                .as("the suffix must end on a label boundary").isEqualTo(NamedVipZone.REFUSED);
    }

    @Test
    void otherTypesOfAKnownNameAreNoDataAndTheApexAnswersItsSoa() {
        NamedVipZone.Answer txt = zone.answer("orders." + SUFFIX, 16);
        assertThat(txt.rcode()).isEqualTo(NamedVipZone.NOERROR);
        assertThat(txt.answers()).isEmpty();
        assertThat(txt.authority()).hasSize(1);
        assertThat(zone.answer("orders." + SUFFIX, NamedVipZone.AAAA).answers()).isEmpty();
        assertThat(zone.answer(SUFFIX, NamedVipZone.SOA).answers()).singleElement()
                .satisfies(rr -> assertThat(rr.type()).isEqualTo(NamedVipZone.SOA));
        assertThat(zone.answer(SUFFIX + ".", NamedVipZone.A).answers()).isEmpty();
    }
}
