package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code validate} knows the limits the runtime has: a value the node cannot honour is an error
 * here, not a failure later (a 70,000-byte UDP check payload used to pass and then fail on every
 * backend with "Message too long"; a 400-character or {@code ../../x} interface name passed).
 * The other direction, every value accepted here is accepted by the runtime's own settings, is
 * {@code ConfigRuntimeAgreementTest} in lb-core.
 */
class RuntimeLimitsTest {
    private static final String VIP = """
            admin: {enabled: false}
            vips:
              - name: web
                listen: 127.0.0.1:8080
                backends: [127.0.0.1:9001]
            """;

    private static final String HA = """
            admin: {enabled: false}
            ha:
              node_id: lb1
              listen: 198.18.0.1:7946
              peers: [{id: lb2, address: 198.18.0.2:7946}]
              zookeeper: {connect: "198.18.0.9:2181"}
              addresses: [198.18.1.10]
            %s
            vips: []
            """;

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        return r instanceof ConfigResult.Invalid invalid
                ? invalid.errors().stream().map(ConfigError::toString).toList() : List.of();
    }

    /** A double-quoted YAML scalar of {@code bytes} bytes, folded over lines with escaped line breaks. */
    private static String bytes(int bytes) {
        StringBuilder b = new StringBuilder("\"");
        for (int left = bytes; left > 0; left -= 1000) {
            b.append("A".repeat(Math.min(1000, left))).append(left > 1000 ? "\\\n        " : "");
        }
        return b.append('"').toString();
    }

    private static String check(String type, String key, int size) {
        return VIP + "    health_check:\n      type: " + type + "\n      send: ping\n      " + key + ": "
                + bytes(size) + "\n";
    }

    @Test
    void aUdpCheckDatagramLargerThanUdpAllowsIsRefused() {
        String check = VIP + "    health_check:\n      type: udp\n      send: %s\n";
        assertThat(errors(check.formatted(bytes(70_000)))).containsExactly(
                "vips[0].health_check.send: 70000 bytes (expected at most 65507 bytes, the largest UDP datagram)");
        assertThat(errors(check.formatted(bytes(65_507)))).isEmpty();
    }

    @Test
    void expectationsLongerThanWhatTheChecksReadAreRefused() {
        assertThat(errors(check("udp", "expect", 2049))).containsExactly("vips[0].health_check.expect: 2049 bytes"
                + " (expected at most 2048 bytes; the check reads no more of a reply)");
        assertThat(errors(check("udp", "expect", 2048))).isEmpty();
        assertThat(errors(check("send-expect", "expect", 16_385))).containsExactly("vips[0].health_check.expect:"
                + " 16385 bytes (expected at most 16384 bytes; the check reads no more of the reply)");
        assertThat(errors(check("send-expect", "expect", 16_384))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"../../x", "eth0/1", "eth0:1", "eth 0", "\"eth0\\t\"", ".", "..", "abcdefghijklmnop",
            "éééééééé", "\"eth\\x01\""})
    void anInterfaceNameLinuxWouldRefuseIsRefused(String name) {
        assertThat(errors(HA.formatted("  interface: " + name))).singleElement().asString()
                .startsWith("ha.interface: ")
                .endsWith("(expected a network interface name of 1..15 bytes without '/', ':' or whitespace,"
                        + " e.g. eth0)");
    }

    @Test
    void aFourHundredCharacterInterfaceNameIsRefused() {
        assertThat(errors(HA.formatted("  interface: " + "x".repeat(400)))).singleElement().asString()
                .startsWith("ha.interface: \"xxxx");
    }

    @ParameterizedTest
    @ValueSource(strings = {"eth0", "abcdefghijklmno", "br-1a2b3c4d5e6f", "veth.100", "lo", "ééééééé"})
    void interfaceNamesLinuxAcceptsAreFine(String name) {
        assertThat(errors(HA.formatted("  interface: " + name))).isEmpty();
    }

    @Test
    void haValuesTheHaModuleRefusesAreRefusedHere() {
        assertThat(errors(HA.formatted("""
                  garp: {count: 51}
                  isolation_grace: 0
                  claim_delay: 0
                  preempt: {enabled: true, delay: 0}
                """))).containsExactly(
                "ha.garp.count: 51 (expected an integer 0..50)",
                "ha.isolation_grace: 0 (expected a duration 1ms..1m)",
                "ha.claim_delay: 0 (expected a duration 1ms..10m)",
                "ha.preempt.delay: 0 (expected a duration 1ms..1h)");
    }

    @Test
    void duplicatePeersAndAddressesAreRefused() {
        assertThat(errors("""
                admin: {enabled: false}
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}, {id: lb2, address: 198.18.0.3:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  addresses: [198.18.1.10, "fd00::1", {address: 198.18.1.10}, "fd00:0::1"]
                vips: []
                """)).containsExactly(
                "ha.peers[1].id: \"lb2\" (expected a unique peer id; ha.peers[0] has the same)",
                "ha.addresses[2].address: \"198.18.1.10\" (expected each address once; ha.addresses[0] has the same)",
                "ha.addresses[3]: \"fd00:0::1\" (expected each address once; ha.addresses[1] has the same)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"zk1 zk2", "zk1:99999", "zk1:0", "zk1:2181/a/", "zk1:2181//x", ",zk1", "zk1:abc", "/chroot"})
    void zooKeeperConnectStringsTheClientRefusesAreRefusedInBothSections(String connect) {
        String expected = "(expected a ZooKeeper connect string host[:port][,host[:port]...][/chroot], e.g."
                + " zk1:2181,zk2:2181)";
        assertThat(errors("discovery: {zookeeper: {connect: \"" + connect + "\"}}\nvips: []\n"))
                .containsExactly("discovery.zookeeper.connect: \"" + connect + "\" " + expected);
        assertThat(errors(HA.replace("198.18.0.9:2181", connect).formatted(""))).containsExactly(
                "ha.zookeeper.connect: \"" + connect + "\" " + expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"zk1", "zk1:2181,zk2:2181,zk3:2181", "zk1:2181, zk2:2181/tandem/prod", "[fd00::9]:2181",
            "198.18.0.9", "zk1:2181/"})
    void zooKeeperConnectStringsTheClientAcceptsAreFine(String connect) {
        assertThat(errors("discovery: {zookeeper: {connect: \"" + connect + "\"}}\nvips: []\n")).isEmpty();
    }

    @Test
    void zooKeeperPathsAndCredentialsTheSourceRefusesAreRefused() {
        assertThat(errors("""
                discovery:
                  zookeeper: {connect: zk1, namespace: "prod/", base_path: "/a//b", auth: "user:"}
                vips: []
                """)).containsExactly(
                "discovery.zookeeper.namespace: \"prod/\" (expected a chroot without leading or trailing slash, e.g."
                        + " prod or tandem/prod)",
                "discovery.zookeeper.base_path: \"/a//b\" (expected an absolute znode path, e.g. /services)",
                "discovery.zookeeper.auth: \"***\" (expected digest credentials user:password)");
    }

    @Test
    void aTrustStorePathWithANulIsAnErrorNotACrash() {
        assertThat(errors("""
                discovery:
                  zookeeper: {connect: zk1, tls: {trust_store: "/etc/t\\0.p12"}}
                vips: []
                """)).containsExactly("discovery.zookeeper.tls.trust_store: \"/etc/t\\x00.p12\" (expected a trust store"
                + " file path without NUL characters)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://m1:8080/?x=1", "http://m1:8080/#top", "http://m1:8080/a b", "HTTP://m1:8080",
            "http://under_score:8080", "http:///path"})
    void marathonUrlsTheSourceRefusesAreRefused(String url) {
        assertThat(errors("discovery: {marathon: {urls: [\"" + url + "\"]}}\nvips: []\n")).containsExactly(
                "discovery.marathon.urls[0]: \"" + url + "\" (expected an http:// or https:// base URL without query"
                        + " or fragment)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"198.18.128.1/17", "300.18.0.0/16", "198.18.0.0/31", "198.18.0.0/7", "fd00::/64"})
    void namedVipBlocksTheAllocatorRefusesAreRefused(String block) {
        assertThat(errors("discovery: {marathon: {urls: [\"http://m1\"], named_vip_block: \"" + block
                + "\"}}\nvips: []\n")).singleElement().asString().startsWith("discovery.marathon.named_vip_block: ");
    }

    @Test
    void httpCheckHeadersAreAscii() {
        assertThat(errors(VIP + "    health_check: {type: http, host: bücher.example}\n")).containsExactly(
                "vips[0].health_check.host: \"bücher.example\" (expected a Host header value of visible ASCII"
                        + " characters, without spaces)");
        assertThat(errors(VIP + "    health_check: {type: http, path: \"/a\\x7fb\"}\n")).singleElement().asString()
                .startsWith("vips[0].health_check.path: ");
        assertThat(errors(VIP + "    health_check: {type: http, host: xn--bcher-kva.example}\n")).isEmpty();
    }

    @Test
    void aMaglevVipHasAtMostOneBackendPerTableSlot() {
        StringBuilder b = new StringBuilder("admin: {enabled: false}\nvips:\n  - name: big\n    listen: 127.0.0.1:80\n"
                + "    policy: maglev\n    backends:\n");
        for (int i = 0; i <= 65_537; i++) {
            b.append("      - 10.").append(i >> 16).append('.').append((i >> 8) & 255).append('.').append(i & 255)
                    .append(":80\n");
        }
        assertThat(errors(b.toString())).containsExactly("vips[0].backends: 65538 backends (expected at most 65537"
                + " with policy maglev, one per slot of its lookup table)");
    }
}
