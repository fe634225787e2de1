package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.AdminSettings;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.DiscoverySettings;
import io.tandem.config.HaConfig;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every key of the config is either applied by a reload or reported as needing a restart —
 * never silently ignored — and secrets never appear in what is reported.
 */
class ConfigChangesTest {

    private static TandemConfig parse(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    private static final String BASE = """
            runtime: {event_loops: 2, transport: nio, drain_timeout: 30s}
            admin: {listen: 127.0.0.1:9090, token: "old-secret-token"}
            vips:
              - name: dns
                listen: 127.0.0.1:5300
                protocol: udp
                backends: [127.0.0.1:53]
            """;

    @Test
    void everyComponentOfEverySettingsRecordIsClassified() {
        List<String> missing = new ArrayList<>();
        for (Class<?> type : List.of(TandemConfig.class, RuntimeSettings.class, RuntimeSettings.Dns.class,
                AdminSettings.class, HaConfig.class, DiscoverySettings.class, VipConfig.class, UdpOptions.class,
                io.tandem.config.LoggingSettings.class, io.tandem.config.LocalitySettings.class)) {
            for (RecordComponent c : type.getRecordComponents()) {
                String key = type.getSimpleName() + "." + c.getName();
                if (!ConfigChanges.KEYS.containsKey(key)) {
                    missing.add(key);
                }
            }
        }
        assertThat(missing).as("config keys with no live/restart decision in ConfigChanges.KEYS").isEmpty();
    }

    @Test
    void aNewNodeZoneOrCidrMapIsAppliedLive() {
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE), parse("node: {region: eu, zone: eu-a}\n"
                + "locality: {cidrs: [{cidr: 10.0.0.0/8, zone: eu-b}]}\n" + BASE));
        assertThat(r.live()).containsExactly("node: - → eu/eu-a", "locality.cidrs: [] → [10.0.0.0/8=-/eu-b]");
        assertThat(r.needsRestart()).isEmpty();
        assertThat(r.effective().locality().node().zone()).contains("eu-a");
    }

    @Test
    void identicalConfigsChangeNothing() {
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE), parse(BASE));
        assertThat(r.live()).isEmpty();
        assertThat(r.needsRestart()).isEmpty();
    }

    @Test
    void runtimeLoopsAndTransportAndAdminListenNeedARestartAndKeepTheirRunningValues() {
        TandemConfig next = parse(BASE.replace("event_loops: 2, transport: nio", "event_loops: 4, transport: epoll")
                .replace("listen: 127.0.0.1:9090", "listen: 127.0.0.1:9091"));
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE), next);
        assertThat(r.needsRestart()).containsExactly(
                "runtime.event_loops: 2 → 4 (needs a restart)",
                "runtime.transport: nio → epoll (needs a restart)",
                "admin.listen: 127.0.0.1:9090 → 127.0.0.1:9091 (needs a restart)");
        assertThat(r.live()).isEmpty();
        assertThat(r.effective().runtime().eventLoops()).isEqualTo(2);
        assertThat(r.effective().admin().listen().port()).isEqualTo(9090);
        // Still reported on the next reload of the same file: nothing changed on the node.
        assertThat(ConfigChanges.between(r.effective(), next).needsRestart()).hasSize(3);
    }

    @Test
    void drainTimeoutAndDnsSettingsApplyLive() {
        TandemConfig next = parse(BASE.replace("drain_timeout: 30s", "drain_timeout: 5s, dns: {servers: "
                + "[127.0.0.1:5353], max_ttl: 10s}"));
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE), next);
        assertThat(r.live()).containsExactly("runtime.drain_timeout: 30s → 5s",
                "runtime.dns.servers: [] → [127.0.0.1:5353]", "runtime.dns.max_ttl: 30s → 10s");
        assertThat(r.needsRestart()).isEmpty();
        assertThat(r.effective().runtime().drainTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(r.effective().runtime().dns().maxTtl()).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void theLogFormatAppliesLiveAndIsKeptInTheEffectiveConfig() {
        TandemConfig next = parse("logging: {format: json}\n" + BASE);
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE), next);
        assertThat(r.live()).containsExactly("logging.format: logfmt → json");
        assertThat(r.needsRestart()).isEmpty();
        assertThat(r.effective().runtime().logging().format()).isEqualTo(io.tandem.config.LogFormat.JSON);
    }

    @Test
    void theNamedVipDnsResponderNeedsARestartAndTheStateDirectoryAppliesLive() {
        String withMarathon = BASE + """
                discovery:
                  state_dir: /tmp/tandem-a
                  dns: {listen: 127.0.0.1:8053}
                  marathon: {urls: ["http://m1:8080"], groups: [external]}
                """;
        TandemConfig running = parse(withMarathon);
        TandemConfig next = parse(withMarathon.replace("127.0.0.1:8053", "127.0.0.1:8054")
                .replace("/tmp/tandem-a", "/tmp/tandem-b").replace("[external]", "[internal]"));
        ConfigChanges.Report r = ConfigChanges.between(running, next);
        assertThat(r.needsRestart()).singleElement().asString().startsWith("discovery.dns: ")
                .contains("127.0.0.1:8053", "127.0.0.1:8054").endsWith("(needs a restart)");
        assertThat(r.live()).containsExactly("discovery.marathon changed: source restarted with the new settings",
                "discovery.state_dir: /tmp/tandem-a → /tmp/tandem-b");
        assertThat(r.effective().discovery().dns()).as("the responder keeps its running address")
                .isEqualTo(running.discovery().dns());
        assertThat(r.effective().discovery().stateDir()).isEqualTo(next.discovery().stateDir());
        assertThat(r.effective().discovery().marathon()).isEqualTo(next.discovery().marathon());
    }

    @Test
    void aRotatedTokenIsReportedWithoutItsValue() {
        TandemConfig next = parse(BASE.replace("old-secret-token", "new-secret-token"));
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE), next);
        assertThat(r.live()).containsExactly("admin token rotated");
        assertThat(String.join(" ", r.live()) + r.needsRestart()).doesNotContain("secret");
        assertThat(r.effective().admin().token()).contains("new-secret-token");
        TandemConfig without = parse(BASE.replace(", token: \"old-secret-token\"", ""));
        assertThat(ConfigChanges.between(parse(BASE), without).live()).containsExactly("admin token removed");
        assertThat(ConfigChanges.between(without, parse(BASE)).live()).containsExactly("admin token set");
    }

    @Test
    void aTokenRemovedWhileTheApiListensOnTheNetworkIsKeptAndSaidToNeedARestart() {
        String open = BASE.replace("127.0.0.1:9090", "0.0.0.0:9090");
        // The new file moves the API to loopback (a restart) and drops the token: validation accepts
        // that, but until the restart the API still listens on every address.
        TandemConfig next = parse(BASE.replace(", token: \"old-secret-token\"", ""));
        ConfigChanges.Report r = ConfigChanges.between(parse(open), next);
        assertThat(r.effective().admin().token()).contains("old-secret-token");
        assertThat(r.live()).isEmpty();
        assertThat(r.needsRestart()).anySatisfy(l -> assertThat(l).startsWith("admin.token: removed while"))
                .anySatisfy(l -> assertThat(l).startsWith("admin.listen: 0.0.0.0:9090 → 127.0.0.1:9090"));
        assertThat(String.join(" ", r.needsRestart())).doesNotContain("secret");
    }

    @Test
    void allowedHostsApplyLive() {
        TandemConfig next = parse(BASE.replace("token: \"old-secret-token\"",
                "token: \"old-secret-token\", allowed_hosts: [lb1.example.com]"));
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE), next);
        assertThat(r.live()).containsExactly("admin.allowed_hosts: [] → [lb1.example.com]");
        assertThat(r.effective().admin().allowedHosts()).containsExactly("lb1.example.com");
    }

    @Test
    void adminKeysOfADisabledApiChangeNothingToReport() {
        String off = BASE.replace("admin: {", "admin: {enabled: false, ");
        TandemConfig next = parse(off.replace("9090", "9091").replace("old-secret-token", "another-secret-token"));
        ConfigChanges.Report r = ConfigChanges.between(parse(off), next);
        assertThat(r.live()).isEmpty();
        assertThat(r.needsRestart()).isEmpty();
    }

    @Test
    void discoveryChangesRestartTheirSourceAndShowNoValues() {
        String zk = BASE + "discovery: {zookeeper: {connect: \"zk1:2181\", auth: \"user:zk-secret\"}}\n";
        TandemConfig next = parse(zk.replace("zk-secret", "zk-other-secret"));
        ConfigChanges.Report r = ConfigChanges.between(parse(zk), next);
        assertThat(r.live()).containsExactly("discovery.zookeeper changed: source restarted with the new settings");
        assertThat(r.live().toString()).doesNotContain("secret");
        assertThat(ConfigChanges.between(parse(BASE), parse(zk)).live())
                .containsExactly("discovery.zookeeper added: source started");
        assertThat(ConfigChanges.between(parse(zk), parse(BASE)).live())
                .containsExactly("discovery.zookeeper removed: source stopped");
    }

    private static final String HA = """
            ha:
              node_id: lb1
              listen: 127.0.0.1:7400
              peers: [{id: lb2, address: 127.0.0.2:7400}]
              zookeeper: {connect: "127.0.0.1:2181"}
              interface: lo
              heartbeat: {interval: 50ms, timeout: 500ms}
              addresses: [198.18.0.10]
            """;

    @Test
    void everyHaKeyNeedsARestart() {
        TandemConfig next = parse(BASE + HA.replace("interval: 50ms", "interval: 100ms")
                .replace("127.0.0.2:7400", "127.0.0.3:7400").replace("interface: lo", "interface: eth0"));
        ConfigChanges.Report r = ConfigChanges.between(parse(BASE + HA), next);
        assertThat(r.needsRestart()).containsExactly(
                "ha.peers: [lb2@127.0.0.2:7400] → [lb2@127.0.0.3:7400] (needs a restart)",
                "ha.interface: lo → eth0 (needs a restart)",
                "ha.heartbeat.interval: 50ms → 100ms (needs a restart)");
        assertThat(r.live()).isEmpty();
        assertThat(r.effective().ha().orElseThrow().interfaceName()).isEqualTo("lo");
        assertThat(ConfigChanges.between(parse(BASE), parse(BASE + HA)).needsRestart())
                .containsExactly("ha: none → configured (needs a restart)");
        assertThat(ConfigChanges.between(parse(BASE), parse(BASE + HA)).effective().ha()).isEmpty();
    }

    @Test
    void udpOptionsOfAKeptListenerNeedARestart() {
        VipConfig v = parse(BASE).vips().getFirst();
        UdpOptions next = new UdpOptions(1232, Duration.ofSeconds(5), v.udp().maxSessions(), 1);
        assertThat(ConfigChanges.udpNeedsRestart("dns", v.udp(), next)).containsExactly(
                "vips[dns].udp.max_datagram_size: 9000 → 1232 (needs a restart)",
                "vips[dns].udp.session_idle: 30s → 5s (needs a restart)",
                "vips[dns].udp.responses_per_request: 0 → 1 (needs a restart)");
        assertThat(ConfigChanges.withUdp(ConfigChanges.withUdp(v, next), v.udp())).isEqualTo(v);
    }

    @Test
    void vipFieldsNameTheYamlKeysThatDiffer() {
        VipConfig a = parse(BASE).vips().getFirst();
        VipConfig b = parse(BASE.replace("backends: [127.0.0.1:53]", "backends: [127.0.0.1:54]\n    retries: 1"))
                .vips().getFirst();
        assertThat(ConfigChanges.vipFields(a, b)).containsExactly("backends", "retries");
        assertThat(ConfigChanges.vipFields(a, a)).isEmpty();
    }
}
