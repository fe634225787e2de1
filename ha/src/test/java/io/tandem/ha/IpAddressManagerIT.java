package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.sys.Errno;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real {@link IpAddressManager} against the kernel: a veth pair with one end in this
 * process's namespace (where the address is added and the gratuitous ARP leaves through the
 * FFM raw socket) and the other in a fresh namespace {@code tandem-ha-*} playing the neighbour
 * whose ARP entry must flip. Addresses from 198.18.0.0/15 only, no default route. Needs root
 * and {@code ip netns}; skipped with a message otherwise. Stale namespaces and links of
 * crashed runs are swept first.
 */
class IpAddressManagerIT {
    private String ns;
    private String hostEnd;
    private String nsEnd;
    private String subnet;

    @BeforeEach
    void createNamespace() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (ip addr, AF_PACKET): skipped");
        assumeTrue(sh("ip", "netns", "list").code == 0, "ip netns unavailable: skipped");
        sweep();
        String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
        ns = "tandem-ha-" + id;
        hostEnd = "tha" + id + "a";
        nsEnd = "tha" + id + "b";
        subnet = "198.19." + ThreadLocalRandom.current().nextInt(1, 255);
        ok(sh("ip", "netns", "add", ns));
        ok(sh("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd));
        ok(sh("ip", "link", "set", nsEnd, "netns", ns));
        ok(sh("ip", "addr", "add", subnet + ".1/24", "dev", hostEnd));
        ok(sh("ip", "link", "set", hostEnd, "up"));
        ok(sh("ip", "netns", "exec", ns, "ip", "addr", "add", subnet + ".2/24", "dev", nsEnd));
        ok(sh("ip", "netns", "exec", ns, "ip", "link", "set", nsEnd, "up"));
        ok(sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"));
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (ns != null) {
            sh("ip", "netns", "delete", ns);
            sh("ip", "link", "delete", hostEnd);
        }
    }

    /** Removes namespaces and host-side links left by a run that died before its cleanup. */
    private static void sweep() throws Exception {
        for (String line : sh("ip", "netns", "list").output.split("\n")) {
            String name = line.split(" ")[0].trim();
            if (name.startsWith("tandem-ha-")) {
                sh("ip", "netns", "delete", name);
            }
        }
        for (String line : sh("ip", "-o", "link", "show").output.split("\n")) {
            String[] f = line.split(":\\s+");
            if (f.length > 1 && f[1].matches("tha[0-9a-f]+a(@.*)?")) {
                sh("ip", "link", "delete", f[1].replaceAll("@.*", ""));
            }
        }
    }

    @Test
    void addAnnounceAndRemoveMoveTheAddressAndFlipTheNeighboursArpEntryToOurMac() throws Exception {
        String vipAddress = subnet + ".10";
        String ourMac = Files.readString(Path.of("/sys/class/net", hostEnd, "address")).trim();
        IpAddressManager addresses = new IpAddressManager(hostEnd);
        // the neighbour believes the VIP lives elsewhere (the old owner's MAC)
        ok(sh("ip", "netns", "exec", ns, "ip", "neigh", "replace", vipAddress, "lladdr", "02:00:00:00:00:01", "dev", nsEnd,
                "nud", "stale"));

        addresses.remove(vipAddress); // as HaNode's start-up sweep does; also loads the FFM downcalls before the timing
        long addStart = System.nanoTime();
        addresses.add(vipAddress);
        long addMicros = (System.nanoTime() - addStart) / 1_000;
        addresses.add(vipAddress); // idempotent
        assertThat(sh("ip", "-o", "addr", "show", "dev", hostEnd).output).contains(vipAddress + "/32");
        assertThat(addresses.usesIpFallback()).as("the address went on through netlink, not a spawned ip").isFalse();
        System.out.printf("HA-MEASURE address add via netlink: %d us%n", addMicros);

        // a fresh veth drops frames until both ends are operational: wait for the path first
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() ->
                sh("ip", "-o", "link", "show", hostEnd).output.contains("state UP")
                        && sh("ip", "netns", "exec", ns, "ip", "-o", "link", "show", nsEnd).output.contains("state UP"));

        long start = System.nanoTime();
        java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
        // keep announcing, as the node's burst does, until the neighbour's entry shows our MAC
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            addresses.announce(vipAddress);
            sent.incrementAndGet();
            assertThat(sh("ip", "netns", "exec", ns, "ip", "neigh", "show", vipAddress, "dev", nsEnd).output)
                    .contains("lladdr " + ourMac);
        });
        assertThat(addresses.usesArpingFallback()).as("GARP went out through the FFM raw socket").isFalse();
        System.out.printf("HA-MEASURE garp: neighbour entry flipped to %s after %d ms and %d gratuitous ARP(s)"
                + " (FFM AF_PACKET)%n", ourMac, (System.nanoTime() - start) / 1_000_000, sent.get());

        addresses.remove(vipAddress);
        addresses.remove(vipAddress); // idempotent
        assertThat(sh("ip", "-o", "addr", "show", "dev", hostEnd).output).doesNotContain(vipAddress + "/32");
        assertThat(addresses.usesIpFallback()).isFalse();
    }

    /**
     * IPv6: the address goes on as /128 (nodad) and the unsolicited neighbour advertisement flips
     * the neighbour's cache entry for it to our MAC, as the GARP does for IPv4. Addresses from
     * 2001:db8::/32 only.
     */
    @Test
    void anIpv6AddressIsAnnouncedByAnUnsolicitedNeighbourAdvertisement() throws Exception {
        String prefix = "2001:db8:" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1, 0xffff)) + "::";
        String vipAddress = prefix + "10";
        ok(sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf." + nsEnd + ".disable_ipv6=0"));
        ok(sh("sysctl", "-qw", "net.ipv6.conf." + hostEnd + ".disable_ipv6=0"));
        ok(sh("ip", "netns", "exec", ns, "ip", "-6", "addr", "add", prefix + "2/64", "dev", nsEnd, "nodad"));
        String ourMac = Files.readString(Path.of("/sys/class/net", hostEnd, "address")).trim();
        IpAddressManager addresses = new IpAddressManager(hostEnd);
        ok(sh("ip", "netns", "exec", ns, "ip", "-6", "neigh", "replace", vipAddress, "lladdr", "02:00:00:00:00:01",
                "dev", nsEnd, "nud", "stale"));

        addresses.add(vipAddress);
        assertThat(sh("ip", "-o", "-6", "addr", "show", "dev", hostEnd).output).contains(vipAddress + "/128");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() ->
                sh("ip", "-o", "link", "show", hostEnd).output.contains("state UP")
                        && sh("ip", "netns", "exec", ns, "ip", "-o", "link", "show", nsEnd).output.contains("state UP"));

        long start = System.nanoTime();
        java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            addresses.announce(vipAddress);
            sent.incrementAndGet();
            assertThat(sh("ip", "netns", "exec", ns, "ip", "-6", "neigh", "show", vipAddress, "dev", nsEnd).output)
                    .contains("lladdr " + ourMac);
        });
        System.out.printf("HA-MEASURE unsolicited NA: neighbour entry flipped to %s after %d ms and %d NA(s)%n",
                ourMac, (System.nanoTime() - start) / 1_000_000, sent.get());
        addresses.remove(vipAddress);
        assertThat(sh("ip", "-o", "-6", "addr", "show", "dev", hostEnd).output).doesNotContain(vipAddress + "/128");
    }

    @Test
    void anAddressAddedWithALifetimeStaysWhileRenewedAndTheKernelRemovesItWhenRenewalsStop() throws Exception {
        String vipAddress = subnet + ".20";
        IpAddressManager addresses = new IpAddressManager(hostEnd);
        addresses.addWithLifetime(vipAddress, Duration.ofSeconds(2));
        assertThat(sh("ip", "-o", "addr", "show", "dev", hostEnd).output).containsPattern(
                vipAddress + "/32 .*valid_lft [12]sec");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        while (System.nanoTime() < until) { // renewing (as HaNode does, every third of the lifetime) keeps it
            addresses.addWithLifetime(vipAddress, Duration.ofSeconds(2));
            assertThat(sh("ip", "-o", "addr", "show", "dev", hostEnd).output).contains(vipAddress + "/32");
            TimeUnit.MILLISECONDS.sleep(600); // the renewal period itself, not a wait for a condition
        }
        long stopped = System.nanoTime();
        await().atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(100))
                .until(() -> !sh("ip", "-o", "addr", "show", "dev", hostEnd).output.contains(vipAddress + "/32"));
        long goneMs = (System.nanoTime() - stopped) / 1_000_000;
        System.out.printf("HA-MEASURE address lifetime 2s: gone %d ms after the last renewal%n", goneMs);
        assertThat(goneMs).as("not before the lifetime ran out").isGreaterThanOrEqualTo(1_000);
        assertThat(addresses.usesIpFallback()).isFalse();
    }

    @Test
    void netlinkRequestTheKernelRefusesIsReportedWithItsErrnoAndNotRetriedThroughIp() throws Exception {
        // a missing interface is the operator's error, not netlink being unusable: no ip fallback
        IpAddressManager missing = new IpAddressManager("tha-missing0");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> missing.add(subnet + ".11"))
                .isInstanceOf(IOException.class).hasMessageContaining("tha-missing0")
                .hasMessageContaining("no such interface");
        assertThat(missing.usesIpFallback()).isFalse();
        NetlinkAddress.KernelError e = org.assertj.core.api.Assertions.catchThrowableOfType(
                NetlinkAddress.KernelError.class,
                () -> NetlinkAddress.remove(hostEnd, subnet + ".12"));
        assertThat(e.errno).as("deleting an absent address: EADDRNOTAVAIL").isEqualTo(Errno.EADDRNOTAVAIL);
        assertThat(e).hasMessageContaining(subnet + ".12/32 dev " + hostEnd);
    }

    private record Result(int code, String output) {
    }

    private static void ok(Result r) {
        assertThat(r.code).as(r.output).isZero();
    }

    private static Result sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(cmd))).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timeout");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
