package io.tandem.discovery.marathon;

import static io.tandem.discovery.marathon.testing.MarathonPayloads.bridgeApp;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.hostApp;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.overlayApp;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.overlayTask;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.portDef;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.portMapping;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.task;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.config.HostPort;
import io.tandem.config.Protocol;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.marathon.testing.MarathonPayloads;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** App/task JSON → services: network modes, task states, health, VIP labels, broken entries. */
class MarathonMappingTest {

    private static final ObjectMapper M = new ObjectMapper();
    private final Drops drops = new Drops(TimeUnit.SECONDS.toNanos(10));
    private final AppParser parser = new AppParser(drops);
    private MarathonSettings settings = MarathonSettings.of(List.of(URI.create("http://127.0.0.1:8080")));

    private static JsonNode json(String s) {
        try {
            return M.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    private static String withTasks(String app, String... tasks) {
        ObjectNode a = (ObjectNode) json(app);
        var arr = a.putArray("tasks");
        for (String t : tasks) {
            arr.add(json(t));
        }
        return a.toString();
    }

    private SnapshotBuilder.Built build(String... apps) {
        return build(Map.of(), apps);
    }

    private SnapshotBuilder.Built build(Map<String, Boolean> overrides, String... apps) {
        List<MarathonApp> parsed = new ArrayList<>();
        for (String a : apps) {
            parser.parseAppEntry(json(a)).ifPresent(parsed::add);
        }
        return new SnapshotBuilder(settings).build(parsed, overrides);
    }

    private static Set<HostPort> addresses(Set<Endpoint> eps) {
        Set<HostPort> out = new java.util.HashSet<>();
        eps.forEach(e -> out.add(e.address()));
        return out;
    }

    @Test
    void referenceBridgeAppUsesAgentHostAndMappedHostPort() {
        MarathonApp app = parser.parseApps(json(MarathonPayloads.REFERENCE_APPS)).get("/pywebserver");
        assertThat(app.mode()).isEqualTo(NetworkMode.BRIDGE);
        var b = new SnapshotBuilder(settings).build(List.of(app), Map.of());
        assertThat(b.services()).containsOnlyKeys("/pywebserver#0");
        Endpoint ep = b.services().get("/pywebserver#0").iterator().next();
        assertThat(ep.address()).isEqualTo(HostPort.of("10.0.2.148", 1565));
        assertThat(ep.healthyInSource()).isTrue();
        assertThat(ep.draining()).isFalse();
        assertThat(ep.origin()).isEqualTo("marathon:/pywebserver/pywebserver.8cad6a69-6ca8-11e7-beb2-0e2beceebfcc");
        assertThat(drops.count()).isZero();
    }

    @Test
    void hostModeUsesAgentHostAndTaskPortsInPortDefinitionOrder() {
        String app = withTasks(hostApp("/h", "[" + portDef(10001, "tcp", "{}") + "," + portDef(10002, "tcp", "{}") + "]"),
                task("/h", "h.instance-1._app.1", "TASK_RUNNING", "agent-1", 31001, 31002));
        var b = build(app);
        assertThat(addresses(b.services().get("/h#0"))).containsExactly(HostPort.of("agent-1", 31001));
        assertThat(addresses(b.services().get("/h#1"))).containsExactly(HostPort.of("agent-1", 31002));
    }

    @Test
    void overlayModeUsesTaskIpAndContainerPort() {
        String app = withTasks(overlayApp("/o", "[" + portMapping(8080, "tcp", "{}") + "]"),
                overlayTask("/o", "o.instance-1._app.1", "TASK_RUNNING", "9.0.1.5"));
        assertThat(addresses(build(app).services().get("/o#0"))).containsExactly(HostPort.of("9.0.1.5", 8080));
    }

    @Test
    void legacyDockerPortMappingsAndNetworkAreRead() {
        String bridge = "{\"id\":\"/lb\",\"container\":{\"docker\":{\"network\":\"BRIDGE\",\"portMappings\":["
                + portMapping(80, "tcp", "{}") + "]}},\"tasks\":[" + task("/lb", "lb.1", "TASK_RUNNING", "agent-2", 31555) + "]}";
        String user = "{\"id\":\"/lu\",\"container\":{\"docker\":{\"network\":\"USER\",\"portMappings\":["
                + portMapping(9000, "tcp", "{}") + "]}},\"tasks\":[" + overlayTask("/lu", "lu.1", "TASK_RUNNING", "9.0.0.3") + "]}";
        var b = build(bridge, user);
        assertThat(addresses(b.services().get("/lb#0"))).containsExactly(HostPort.of("agent-2", 31555));
        assertThat(addresses(b.services().get("/lu#0"))).containsExactly(HostPort.of("9.0.0.3", 9000));
    }

    @Test
    void legacyIpPerTaskDiscoveryPortsAreRead() {
        String app = "{\"id\":\"/ipt\",\"ipAddress\":{\"networkName\":\"dcos\",\"discovery\":{\"ports\":[{\"number\":7000,"
                + "\"name\":\"x\",\"protocol\":\"tcp\",\"labels\":{\"VIP_0\":\"/ipt:7000\"}}]}},\"tasks\":["
                + overlayTask("/ipt", "ipt.1", "TASK_RUNNING", "9.0.0.4") + "]}";
        var b = build(app);
        assertThat(addresses(b.services().get("/ipt#0"))).containsExactly(HostPort.of("9.0.0.4", 7000));
        assertThat(b.vips()).hasSize(1);
    }

    @Test
    void legacyHostAppWithOnlyPortsArrayMapsTaskPorts() {
        String app = "{\"id\":\"/old\",\"ports\":[10001],\"tasks\":[" + task("/old", "old.1", "TASK_RUNNING", "a", 31000) + "]}";
        assertThat(addresses(build(app).services().get("/old#0"))).containsExactly(HostPort.of("a", 31000));
    }

    private Set<Endpoint> endpointsForState(String state) {
        String app = withTasks(hostApp("/s", "[" + portDef(0, "tcp", "{}") + "]"),
                task("/s", "s.instance-1._app.1", state, "agent-1", 31000));
        return build(app).services().get("/s#0");
    }

    @Test
    void runningIsEligibleAndNotDraining() {
        assertThat(endpointsForState("TASK_RUNNING")).singleElement()
                .satisfies(e -> assertThat(e.draining()).isFalse());
    }

    @Test
    void killingIsPresentAndDraining() {
        assertThat(endpointsForState("TASK_KILLING")).singleElement()
                .satisfies(e -> assertThat(e.draining()).isTrue());
    }

    @Test
    void unreachableUnknownAndLostAreKeptByDefault() {
        for (String s : List.of("TASK_UNREACHABLE", "TASK_UNKNOWN", "TASK_LOST")) {
            assertThat(endpointsForState(s)).as(s).singleElement()
                    .satisfies(e -> assertThat(e.draining()).isFalse());
        }
    }

    @Test
    void unreachableUnknownAndLostAreRemovedWithTheRemovePolicy() {
        settings = MarathonSettings.builder(settings.urls()).unreachable(MarathonSettings.UnreachablePolicy.REMOVE).build();
        for (String s : List.of("TASK_UNREACHABLE", "TASK_UNKNOWN", "TASK_LOST")) {
            assertThat(endpointsForState(s)).as(s).isEmpty();
        }
    }

    @Test
    void stagingStartingAndEveryTerminalStateAreNotBackends() {
        for (String s : List.of("TASK_STAGING", "TASK_STARTING", "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED",
                "TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR")) {
            assertThat(endpointsForState(s)).as(s).isEmpty();
        }
        assertThat(drops.count()).as("pending tasks without ports are not malformed").isZero();
    }

    @Test
    void anyDeadHealthCheckResultMarksUnhealthyInSource() {
        ObjectNode t = (ObjectNode) json(task("/s", "s.instance-1._app.1", "TASK_RUNNING", "agent-1", 31000));
        var results = t.putArray("healthCheckResults");
        results.add(json(MarathonPayloads.REFERENCE_HEALTH_RESULT));
        ObjectNode dead = (ObjectNode) json(MarathonPayloads.REFERENCE_HEALTH_RESULT);
        dead.put("alive", false);
        results.add(dead);
        String app = withTasks(hostApp("/s", "[" + portDef(0, "tcp", "{}") + "]"), t.toString());
        assertThat(build(app).services().get("/s#0")).singleElement()
                .satisfies(e -> assertThat(e.healthyInSource()).isFalse());
    }

    @Test
    void allAliveOrNoHealthDataIsHealthyAndAHealthEventOverridesIt() {
        ObjectNode t = (ObjectNode) json(task("/s", "s.instance-1._app.1", "TASK_RUNNING", "agent-1", 31000));
        t.putArray("healthCheckResults").add(json(MarathonPayloads.REFERENCE_HEALTH_RESULT));
        String app = withTasks(hostApp("/s", "[" + portDef(0, "tcp", "{}") + "]"), t.toString());
        assertThat(build(app).services().get("/s#0")).singleElement()
                .satisfies(e -> assertThat(e.healthyInSource()).isTrue());
        // the reference result carries an instanceId, which health events use
        String instance = "pywebserver.marathon-8cad6a69-6ca8-11e7-beb2-0e2beceebfcc";
        assertThat(build(Map.of(instance, false), app).services().get("/s#0")).singleElement()
                .satisfies(e -> assertThat(e.healthyInSource()).isFalse());
    }

    @Test
    void taskIdsOfMarathon15HaveTheirInstanceIdDerived() {
        assertThat(MarathonTask.instanceIdOf("my-app.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c._app.1"))
                .isEqualTo("my-app.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c");
        assertThat(MarathonTask.instanceIdOf("my-app.8cad6a69")).isEqualTo("my-app.8cad6a69");
    }

    @Test
    void namedVipLabelGetsAnAddressFromTheBlockAndCarriesTheAppsBackends() {
        String app = withTasks(hostApp("/orders", "[" + portDef(0, "tcp", "{\"VIP_0\":\"/orders:8080\"}") + "]"),
                task("/orders", "orders.1", "TASK_RUNNING", "agent-1", 31000));
        var b = build(app);
        assertThat(b.vips()).hasSize(1);
        MarathonVip vip = b.vips().values().iterator().next();
        assertThat(vip.name()).contains("/orders");
        assertThat(vip.port()).isEqualTo(8080);
        assertThat(vip.protocol()).isEqualTo(Protocol.TCP);
        assertThat(NamedVipBlock.parse("198.18.128.0/17").contains(java.net.InetAddress.ofLiteral(vip.address()))).isTrue();
        assertThat(vip.serviceName()).isEqualTo("vip:tcp:" + vip.address() + ":8080");
        assertThat(addresses(b.services().get(vip.serviceName()))).containsExactly(HostPort.of("agent-1", 31000));
        assertThat(addresses(b.services().get("/orders#0"))).containsExactly(HostPort.of("agent-1", 31000));
    }

    @Test
    void addressVipLabelUsesTheGivenAddress() {
        String app = hostApp("/db", "[" + portDef(0, "tcp", "{\"vip_x\":\"10.1.0.10:5432\"}") + "]");
        var b = build(app);
        assertThat(b.vips()).containsOnlyKeys("vip:tcp:10.1.0.10:5432");
        assertThat(b.vips().get("vip:tcp:10.1.0.10:5432").name()).isEmpty();
        assertThat(b.services().get("vip:tcp:10.1.0.10:5432")).isEmpty();
    }

    @Test
    void udpTcpPortDeclaresOneVipPerProtocolAndSettingsCanFilterThem() {
        String app = hostApp("/dns", "[" + portDef(0, "udp,tcp", "{\"VIP_0\":\"10.1.0.53:53\"}") + "]");
        assertThat(build(app).vips()).containsOnlyKeys("vip:tcp:10.1.0.53:53", "vip:udp:10.1.0.53:53");
        settings = MarathonSettings.builder(settings.urls()).protocols(Set.of(Protocol.UDP)).build();
        assertThat(build(app).vips()).containsOnlyKeys("vip:udp:10.1.0.53:53");
    }

    @Test
    void twoAppsWithTheSameNamedVipPoolTheirTasks() {
        String blue = withTasks(hostApp("/blue", "[" + portDef(0, "tcp", "{\"VIP_0\":\"/web:80\"}") + "]"),
                task("/blue", "blue.1", "TASK_RUNNING", "a", 31001));
        String green = withTasks(hostApp("/green", "[" + portDef(0, "tcp", "{\"VIP_0\":\"/web:80\"}") + "]"),
                task("/green", "green.1", "TASK_RUNNING", "b", 31002));
        var b = build(blue, green);
        assertThat(b.vips()).hasSize(1);
        assertThat(addresses(b.services().get(b.vips().keySet().iterator().next())))
                .containsExactlyInAnyOrder(HostPort.of("a", 31001), HostPort.of("b", 31002));
    }

    @Test
    void namedVipAddressesDoNotDependOnAppOrder() {
        List<String> apps = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            apps.add(hostApp("/app" + i, "[" + portDef(0, "tcp", "{\"VIP_0\":\"/name" + i + ":80\"}") + "]"));
        }
        Map<String, MarathonVip> first = build(apps.toArray(String[]::new)).vips();
        Collections.shuffle(apps, new java.util.Random(7));
        assertThat(build(apps.toArray(String[]::new)).vips()).isEqualTo(first).hasSize(30);
    }

    @Test
    void aBrokenVipLabelIsDroppedAndCountedWhileTheAppsOtherPortsAndLabelsStay() {
        String app = withTasks(hostApp("/x", "[" + portDef(0, "tcp", "{\"VIP_0\":\"/x:0\",\"VIP_1\":\"/x:81\"}") + ","
                        + portDef(0, "sctp", "{}") + "," + portDef(0, "tcp", "{}") + "]"),
                task("/x", "x.1", "TASK_RUNNING", "a", 31000, 31001, 31002));
        var b = build(app);
        assertThat(b.vips()).hasSize(1);
        assertThat(b.services()).containsKeys("/x#0", "/x#2").doesNotContainKey("/x#1");
        assertThat(addresses(b.services().get("/x#2"))).containsExactly(HostPort.of("a", 31002));
        assertThat(drops.count()).isEqualTo(2); // the label and the sctp port
    }

    @Test
    void brokenAppsAndTasksAreDroppedAndCountedWhileOthersAreKept() {
        String good = withTasks(hostApp("/good", "[" + portDef(0, "tcp", "{}") + "]"),
                task("/good", "good.1", "TASK_RUNNING", "a", 31000),
                "{\"id\":\"good.2\",\"state\":\"TASK_NONSENSE\"}",
                "{\"state\":\"TASK_RUNNING\"}",
                task("/good", "good.3", "TASK_RUNNING", "unknown", 31003),
                task("/good", "good.4", "TASK_RUNNING", "a"));
        String noId = "{\"instances\":1}";
        String badMode = "{\"id\":\"/m\",\"networks\":[{\"mode\":\"weird\"}]}";
        String relative = "{\"id\":\"rel\"}";
        var b = build(good, noId, badMode, relative, "42");
        assertThat(b.services()).containsOnlyKeys("/good#0");
        assertThat(addresses(b.services().get("/good#0"))).containsExactly(HostPort.of("a", 31000));
        assertThat(drops.count()).isEqualTo(8);
    }

    @Test
    void zoneIsCarriedWhenTheTaskHasOne() {
        ObjectNode t = (ObjectNode) json(task("/z", "z.1", "TASK_RUNNING", "a", 31000));
        t.put("zone", "eu-1a");
        String app = withTasks(hostApp("/z", "[" + portDef(0, "tcp", "{}") + "]"), t.toString());
        assertThat(build(app).services().get("/z#0")).singleElement()
                .satisfies(e -> assertThat(e.zone()).isEqualTo(Optional.of("eu-1a")));
    }

    @Test
    void regionAndZoneOfTheMesosFaultDomainAreCarriedAsTheEndpointsLocality() {
        // Marathon >= 1.6 writes the agent's fault domain into the task JSON (TaskConversion:
        // region = agentInfo.region, zone = agentInfo.zone).
        ObjectNode t = (ObjectNode) json(task("/z", "z.1", "TASK_RUNNING", "a", 31000));
        t.put("region", "eu-west-1");
        t.put("zone", "eu-west-1b");
        ObjectNode none = (ObjectNode) json(task("/z", "z.2", "TASK_RUNNING", "b", 31001));
        String app = withTasks(hostApp("/z", "[" + portDef(0, "tcp", "{}") + "]"), t.toString(), none.toString());
        assertThat(build(app).services().get("/z#0")).extracting(io.tandem.discovery.Endpoint::locality)
                .containsExactlyInAnyOrder(io.tandem.config.Locality.of("eu-west-1", "eu-west-1b"),
                        io.tandem.config.Locality.UNKNOWN);
    }

    @Test
    void statusEventPatchKeepsHealthAndZoneAndResolvesTheNewAddress() {
        MarathonApp app = parser.parseApp(json(hostApp("/p", "[" + portDef(0, "tcp", "{}") + "]")));
        JsonNode ev = json(MarathonPayloads.statusUpdate("/p", "p.1", "TASK_RUNNING", "agent-9", 31999));
        MarathonTask t = parser.fromStatusEvent(ev, app, TaskState.RUNNING, Optional.empty());
        assertThat(t.backends()).containsEntry(0, HostPort.of("agent-9", 31999));
        JsonNode killing = json("{\"taskId\":\"p.1\",\"appId\":\"/p\",\"taskStatus\":\"TASK_KILLING\"}");
        MarathonTask k = parser.fromStatusEvent(killing, app, TaskState.KILLING, Optional.of(t));
        assertThat(k.backends()).containsEntry(0, HostPort.of("agent-9", 31999));
        assertThat(k.state()).isEqualTo(TaskState.KILLING);
    }
}
