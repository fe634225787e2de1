package io.tandem.ha.announce;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.AnnounceSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The generated bird.conf: only the VIP prefixes leave the node, each session with BFD, next hop self. */
class BirdConfigTest {
    private static AnnounceSettings settings(Optional<AnnounceSettings.Bfd> bfd) {
        return new AnnounceSettings(AnnounceSettings.Mode.BGP, false, 65001, Optional.empty(),
                List.of(new AnnounceSettings.Neighbor("198.19.1.1", 65000),
                        new AnnounceSettings.Neighbor("2001:db8::1", 65000)),
                bfd, Duration.ofSeconds(3), Path.of("/usr/sbin/bird"), Path.of("/usr/sbin/birdc"), Optional.empty());
    }

    @Test
    void onlyTheConfiguredVipPrefixesOfTheVipInterfaceAreImportedAndExported() {
        String conf = BirdConfig.render(settings(Optional.of(new AnnounceSettings.Bfd(Duration.ofMillis(50), 3))),
                "n1", "198.18.0.11", "lo", List.of("198.19.200.10", "198.19.200.11", "2001:db8::10"));
        assertThat(conf).contains("router id 198.18.0.11;")
                .contains("protocol direct tandem_vips {\n  interface \"lo\";")
                .contains("ipv4 { import filter { if net ~ [ 198.19.200.10/32, 198.19.200.11/32 ] then accept;"
                        + " reject; }; };")
                .contains("ipv6 { import filter { if net ~ [ 2001:db8::10/128 ] then accept; reject; }; };")
                .contains("protocol bgp tandem_peer1 {\n  description \"198.19.1.1\";\n  local as 65001;\n"
                        + "  neighbor 198.19.1.1 as 65000;\n  bfd on;")
                .contains("ipv4 { import none; export where proto = \"tandem_vips\"; next hop self; };")
                .contains("protocol bgp tandem_peer2 {")
                .contains("ipv6 { import none; export where proto = \"tandem_vips\"; next hop self; };")
                .contains("min rx interval 50 ms; min tx interval 50 ms; idle tx interval 1000 ms; multiplier 3;")
                .contains("hold time 3; keepalive time 1;");
    }

    @Test
    void withoutBfdThereIsNoBfdProtocolAndNoSessionAsksForIt() {
        String conf = BirdConfig.render(settings(Optional.empty()), "n1", "198.18.0.11", "lo",
                List.of("198.19.200.10"));
        assertThat(conf).doesNotContain("protocol bfd").doesNotContain("bfd on")
                .contains("ipv6 { import none; };");
    }

    @Test
    void withdrawWithoutBackendsGivesEachAddressItsOwnDisabledProtocolAndBirdAcceptsIt() throws Exception {
        AnnounceSettings base = settings(Optional.of(new AnnounceSettings.Bfd(Duration.ofMillis(50), 3)));
        AnnounceSettings s = new AnnounceSettings(base.mode(), true, base.localAs(), base.routerId(), base.neighbors(),
                base.bfd(), base.holdTime(), base.bird(), base.birdc(), base.runDir(), true, Duration.ofSeconds(2));
        String conf = BirdConfig.render(s, "n1", "198.18.0.11", "lo", List.of("198.19.200.10", "2001:db8::10"));
        assertThat(conf).doesNotContain("tandem_vips")
                .contains("protocol direct tandem_vip_1 {\n  disabled yes;\n  interface \"lo\";\n"
                        + "  ipv4 { import filter { if net ~ [ 198.19.200.10/32 ] then accept; reject; }; };\n}")
                .contains("protocol direct tandem_vip_2 {\n  disabled yes;\n  interface \"lo\";\n"
                        + "  ipv6 { import filter { if net ~ [ 2001:db8::10/128 ] then accept; reject; }; };\n}")
                .contains("ipv4 { import none; export where proto ~ \"tandem_vip_*\"; next hop self; };");
        java.nio.file.Path bird = java.nio.file.Path.of("/usr/sbin/bird");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(bird), "BIRD 2 not installed");
        java.nio.file.Path f = java.nio.file.Files.createTempFile("bird", ".conf");
        try {
            java.nio.file.Files.writeString(f, conf);
            Bird.Result r = Bird.run(List.of(bird.toString(), "-p", "-c", f.toString()), 10_000);
            assertThat(r.code()).as(r.output()).isZero();
        } finally {
            java.nio.file.Files.delete(f);
        }
    }
}
