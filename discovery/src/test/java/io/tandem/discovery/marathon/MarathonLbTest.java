package io.tandem.discovery.marathon;

import static io.tandem.discovery.marathon.testing.MarathonPayloads.healthCheck;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.labelledHostApp;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.portDef;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.task;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HostPort;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.VipConfig;
import io.tandem.discovery.marathon.testing.MarathonPayloads;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Marathon-LB's L4 model from an app's labels, label by label: which ports a node of which group
 * serves, where, with which policy and check; everything else a note, never silently dropped.
 */
class MarathonLbTest {

    private static final ObjectMapper M = new ObjectMapper();
    private final AppParser parser = new AppParser(new Drops(TimeUnit.SECONDS.toNanos(10)));

    private MarathonApp app(String labels, String healthChecks, String... ports) {
        return parser.parseApp(json(labelledHostApp("/orders", labels, healthChecks, "[" + String.join(",", ports) + "]")));
    }

    private static MarathonLb.Settings node(String... groups) {
        return new MarathonLb.Settings(Set.of(groups), "10.0.0.5", false);
    }

    private static JsonNode json(String s) {
        try {
            return M.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    @Test
    void anAppIsServedOnItsServicePortByANodeOfItsGroupAndNotByANodeOfAnother() {
        MarathonApp a = app("{\"HAPROXY_GROUP\":\"external\"}", "[]", portDef(10001, "tcp", "{}"));
        MarathonLb.Plan external = MarathonLb.plan(a, node("external"));
        assertThat(external.ports()).singleElement().satisfies(p -> {
            assertThat(p.index()).isZero();
            assertThat(p.bindAddress()).isEqualTo("10.0.0.5");
            assertThat(p.listenPort()).isEqualTo(10001);
            assertThat(p.protocols()).containsExactly(Protocol.TCP);
            assertThat(p.policy()).as("Marathon-LB's default balance is roundrobin").isEqualTo(PolicyKind.ROUND_ROBIN);
        });
        assertThat(external.notes()).isEmpty();
        assertThat(MarathonLb.plan(a, node("internal")).ports()).isEmpty();
        assertThat(MarathonLb.plan(a, node()).ports()).as("no groups configured: Marathon-LB labels are off").isEmpty();
        assertThat(MarathonLb.plan(a, node("*")).ports()).hasSize(1);
    }

    @Test
    void groupsAreCommaSeparatedPerPortGroupsWinAndStarOnTheNodeTakesAppsWithoutAGroup() {
        MarathonApp a = app("{\"HAPROXY_GROUP\":\"internal,external\",\"HAPROXY_1_GROUP\":\"admin\"}", "[]",
                portDef(10001, "tcp", "{}"), portDef(10002, "tcp", "{}"));
        assertThat(MarathonLb.plan(a, node("external")).ports()).extracting(MarathonLb.Port::index).containsExactly(0);
        assertThat(MarathonLb.plan(a, node("admin")).ports()).extracting(MarathonLb.Port::index).containsExactly(1);
        MarathonApp ungrouped = app("{}", "[]", portDef(10003, "tcp", "{}"));
        assertThat(MarathonLb.plan(ungrouped, node("external")).ports()).isEmpty();
        assertThat(MarathonLb.plan(ungrouped, node("*")).ports()).hasSize(1);
    }

    @Test
    void portBindAddrBalanceAndEnabledLabelsAreApplied() {
        MarathonApp a = app("{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_PORT\":\"80\",\"HAPROXY_0_BIND_ADDR\":\"10.1.0.10\","
                + "\"HAPROXY_0_BALANCE\":\"leastconn\",\"HAPROXY_1_BALANCE\":\"source\",\"HAPROXY_2_ENABLED\":\"false\","
                + "\"HAPROXY_1_BIND_ADDR\":\"*\"}", "[]",
                portDef(10001, "tcp", "{}"), portDef(10002, "tcp", "{}"), portDef(10003, "tcp", "{}"));
        MarathonLb.Plan plan = MarathonLb.plan(a, node("external"));
        assertThat(plan.ports()).hasSize(2);
        assertThat(plan.ports().get(0)).satisfies(p -> {
            assertThat(p.bindAddress()).isEqualTo("10.1.0.10");
            assertThat(p.listenPort()).isEqualTo(80);
            assertThat(p.policy()).isEqualTo(PolicyKind.LEAST_CONNECTIONS);
        });
        assertThat(plan.ports().get(1)).satisfies(p -> {
            assertThat(p.bindAddress()).isEqualTo("10.0.0.5");
            assertThat(p.policy()).as("source hashing = Maglev on the client address").isEqualTo(PolicyKind.MAGLEV);
        });
        assertThat(plan.notes()).isEmpty();
    }

    @Test
    void strictModeServesOnlyPortsEnabledWithTrue() {
        MarathonApp a = app("{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_1_ENABLED\":\"yes\"}", "[]",
                portDef(10001, "tcp", "{}"), portDef(10002, "tcp", "{}"));
        var strict = new MarathonLb.Settings(Set.of("external"), "0.0.0.0", true);
        assertThat(MarathonLb.plan(a, strict).ports()).extracting(MarathonLb.Port::index).containsExactly(1);
    }

    @Test
    void labelsWithoutAnL4MeaningAreNotedOncePerApp() {
        MarathonApp a = app("{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_VHOST\":\"shop.example.com\","
                + "\"HAPROXY_0_PATH\":\"/api\",\"HAPROXY_0_SSL_CERT\":\"/etc/ssl/x.pem\",\"HAPROXY_0_STICKY\":\"true\","
                + "\"HAPROXY_0_BACKEND_HEAD\":\"backend x\",\"HAPROXY_0_HTTP_FRONTEND_ACL\":\"acl\","
                + "\"HAPROXY_0_BALANCE\":\"uri\",\"HAPROXY_0_BANANA\":\"1\",\"HAPROXY_7_VHOST\":\"x\","
                + "\"HAPROXY_DEPLOYMENT_COLOUR\":\"blue\",\"OTHER\":\"x\"}", "[]", portDef(10001, "tcp", "{}"));
        MarathonLb.Plan plan = MarathonLb.plan(a, node("external"));
        assertThat(plan.ports()).singleElement().satisfies(p -> assertThat(p.policy()).isEqualTo(PolicyKind.ROUND_ROBIN));
        assertThat(plan.notes()).containsExactlyInAnyOrder(
                "HAPROXY_0_MODE: http is served as TCP at L4 (bytes pass through; no HTTP routing, headers or HTTP "
                        + "checks by Marathon-LB's rules)",
                "HAPROXY_0_BALANCE: \"uri\" has no L4 equivalent (it needs the request): round-robin",
                "HAPROXY_0_BACKEND_HEAD: not applicable at L4: an HAProxy config template",
                "HAPROXY_0_BANANA: not a Marathon-LB label (ignored)",
                "HAPROXY_0_HTTP_FRONTEND_ACL: not applicable at L4: an HAProxy config template",
                "HAPROXY_0_PATH: not applicable at L4: HTTP path routing",
                "HAPROXY_0_SSL_CERT: not applicable at L4: TLS termination; TLS passes through untouched",
                "HAPROXY_0_STICKY: not applicable at L4: cookie stickiness; HAPROXY_n_BALANCE=source keeps a client on "
                        + "one backend at L4",
                "HAPROXY_0_VHOST: not applicable at L4: HTTP virtual hosts on 80/443; the service port is served",
                "HAPROXY_7_VHOST: the app has no port 7 (ignored)",
                "HAPROXY_DEPLOYMENT_COLOUR: bluegreen_deploy.py bookkeeping");
    }

    @Test
    void badValuesFallBackWithANoteAndAPortWithoutServicePortIsNotServed() {
        MarathonApp a = app("{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_PORT\":\"http\",\"HAPROXY_0_BIND_ADDR\":"
                + "\"lb.example.com\",\"HAPROXY_0_MODE\":\"udp\"}", "[]", portDef(10001, "tcp", "{}"),
                portDef(0, "tcp", "{}"));
        MarathonLb.Plan plan = MarathonLb.plan(a, node("external"));
        assertThat(plan.ports()).singleElement().satisfies(p -> {
            assertThat(p.listenPort()).isEqualTo(10001);
            assertThat(p.bindAddress()).isEqualTo("10.0.0.5");
        });
        assertThat(plan.notes()).contains(
                "HAPROXY_0_PORT: \"http\" is not a port 1..65535; the service port 10001 is used",
                "HAPROXY_0_BIND_ADDR: \"lb.example.com\" is not an IP address; served on 10.0.0.5",
                "HAPROXY_0_MODE: \"udp\" (expected tcp or http): served as TCP",
                "port 1: no service port (IP-per-task app?) and no HAPROXY_1_PORT: not served (Marathon-LB's generated "
                        + "ports change as apps come and go)");
    }

    @Test
    void bridgeAppsTakeTheirServicePortFromPortMappings() {
        MarathonApp a = parser.parseApps(json(MarathonPayloads.REFERENCE_APPS)).get("/pywebserver");
        MarathonLb.Plan plan = MarathonLb.plan(a, node("external"));
        assertThat(plan.ports()).singleElement().satisfies(p -> assertThat(p.listenPort()).isEqualTo(10101));
        assertThat(plan.notes()).anySatisfy(n -> assertThat(n).startsWith("HAPROXY_0_VHOST: not applicable at L4"));
    }

    /**
     * Every label marathon-lb 1.x reads (marathon-lb@9e669ec0 config.py {@code labels}, templates
     * included, plus HAPROXY_GROUP and HAPROXY_DEPLOYMENT_NEW_INSTANCES read by marathon_lb.py) has
     * a row in the table, and the migration guide prints every row.
     */
    @Test
    void everyMarathonLbLabelIsClassifiedAndDocumented() throws Exception {
        List<String> marathonLb = List.of("AUTH", "VHOST", "GROUP", "PATH", "STICKY", "ENABLED", "REDIRECT_TO_HTTPS",
                "USE_HSTS", "SSL_CERT", "BIND_OPTIONS", "BIND_ADDR", "PORT", "MODE", "BALANCE",
                "HTTP_BACKEND_PROXYPASS_PATH", "HTTP_BACKEND_REVPROXY_PATH", "HTTP_BACKEND_REDIR", "BACKEND_WEIGHT",
                "BACKEND_NETWORK_ALLOWED_ACL", "BACKEND_HEALTHCHECK_PORT_INDEX", "FRONTEND_HEAD", "USERLIST_HEAD",
                "BACKEND_REDIRECT_HTTP_TO_HTTPS", "BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH", "BACKEND_HEAD",
                "HTTP_FRONTEND_ACL", "MAP_HTTP_FRONTEND_ACL", "HTTP_FRONTEND_ACL_ONLY", "MAP_HTTP_FRONTEND_ACL_ONLY",
                "HTTP_FRONTEND_ROUTING_ONLY", "HTTP_FRONTEND_ROUTING_ONLY_WITH_AUTH", "HTTP_FRONTEND_ACL_WITH_AUTH",
                "HTTP_FRONTEND_ACL_WITH_PATH", "HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH", "HTTP_FRONTEND_ACL_ONLY_WITH_PATH",
                "HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH", "HTTPS_FRONTEND_ACL_ONLY_WITH_PATH",
                "HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH", "HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH",
                "HTTP_FRONTEND_APPID_ACL", "MAP_HTTP_FRONTEND_APPID_ACL", "HTTPS_FRONTEND_ACL", "MAP_HTTPS_FRONTEND_ACL",
                "HTTPS_FRONTEND_ACL_WITH_AUTH", "HTTPS_FRONTEND_ACL_WITH_PATH", "HTTPS_FRONTEND_ACL_WITH_AUTH_AND_PATH",
                "BACKEND_HTTP_OPTIONS", "HTTP_BACKEND_PROXYPASS_GLUE", "HTTP_BACKEND_REVPROXY_GLUE",
                "BACKEND_HSTS_OPTIONS", "BACKEND_HTTP_HEALTHCHECK_OPTIONS", "BACKEND_TCP_HEALTHCHECK_OPTIONS",
                "BACKEND_STICKY_OPTIONS", "BACKEND_SERVER_OPTIONS", "BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS",
                "BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS", "FRONTEND_BACKEND_GLUE", "HTTP_BACKEND_NETWORK_ALLOWED_ACL",
                "TCP_BACKEND_NETWORK_ALLOWED_ACL");
        List<String> appLevel = List.of("GROUP", "DEPLOYMENT_GROUP", "DEPLOYMENT_ALT_PORT", "DEPLOYMENT_COLOUR",
                "DEPLOYMENT_STARTED_AT", "DEPLOYMENT_TARGET_INSTANCES", "DEPLOYMENT_NEW_INSTANCES");
        Set<String> perPort = MarathonLb.LABELS.stream().filter(MarathonLb.Label::perPort).map(MarathonLb.Label::name)
                .collect(Collectors.toSet());
        Set<String> app = MarathonLb.LABELS.stream().filter(l -> !l.perPort()).map(MarathonLb.Label::name)
                .collect(Collectors.toSet());
        assertThat(perPort).containsAll(marathonLb);
        assertThat(app).containsAll(appLevel);

        String guide = Files.readString(Path.of("../docs/migrating-from-marathon-lb.md"));
        List<String> missing = new ArrayList<>();
        for (MarathonLb.Label l : MarathonLb.LABELS) {
            String name = (l.perPort() ? "HAPROXY_{n}_" : "HAPROXY_") + l.name();
            if (!guide.contains("`" + name + "`")) {
                missing.add(name);
            }
        }
        assertThat(missing).as("labels missing from docs/migrating-from-marathon-lb.md").isEmpty();
    }

    // ------------------------------------------------------------------ through the snapshot builder

    private SnapshotBuilder.Built build(MarathonSettings settings, String... apps) {
        List<MarathonApp> parsed = new ArrayList<>();
        for (String a : apps) {
            parsed.add(parser.parseApp(json(a)));
        }
        return new SnapshotBuilder(settings).build(parsed, Map.of());
    }

    private static MarathonSettings settings(String... groups) {
        return MarathonSettings.builder(List.of(URI.create("http://m:8080"))).marathonLb(Set.of(groups), "10.0.0.5", false)
                .build();
    }

    private static String withTasks(String app, String... tasks) {
        ObjectNode a = (ObjectNode) json(app);
        var arr = a.putArray("tasks");
        for (String t : tasks) {
            arr.add(json(t));
        }
        return a.toString();
    }

    @Test
    void aServedPortIsADeclaredVipOnTheServicePortWithTheTasksAsBackendsAndMarathonsCheck() {
        String app = withTasks(labelledHostApp("/shop/orders", "{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_BALANCE\":"
                        + "\"leastconn\"}", "[" + healthCheck("HTTP", 0, "/health", 2, 1, 3) + "]",
                        "[" + portDef(10001, "tcp", "{}") + "]"),
                task("/shop/orders", "t1", "TASK_RUNNING", "10.0.1.7", 31001),
                task("/shop/orders", "t2", "TASK_RUNNING", "10.0.1.8", 31002));
        SnapshotBuilder.Built b = build(settings("external"), app);
        assertThat(b.declared()).containsOnlyKeys("marathon-lb-shop-orders-10001-tcp");
        VipConfig v = b.declared().get("marathon-lb-shop-orders-10001-tcp");
        assertThat(v.listen()).isEqualTo(HostPort.of("10.0.0.5", 10001));
        assertThat(v.protocol()).isEqualTo(Protocol.TCP);
        assertThat(v.policy()).isEqualTo(PolicyKind.LEAST_CONNECTIONS);
        assertThat(v.service()).contains("marathon-lb:tcp:10.0.0.5:10001");
        assertThat(v.healthCheck()).get().isInstanceOfSatisfying(HealthCheckSpec.Http.class, h -> {
            assertThat(h.path()).isEqualTo("/health");
            assertThat(h.timing().interval()).hasSeconds(2);
            assertThat(h.timing().fall()).isEqualTo(3);
        });
        assertThat(b.services().get("marathon-lb:tcp:10.0.0.5:10001")).extracting(e -> e.address())
                .containsExactlyInAnyOrder(HostPort.of("10.0.1.7", 31001), HostPort.of("10.0.1.8", 31002));
        assertThat(build(settings("internal"), app).declared()).isEmpty();
    }

    @Test
    void appsOfOneDeploymentGroupShareAPortOthersGetANote() {
        String labels = "{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_DEPLOYMENT_GROUP\":\"shop\",\"HAPROXY_0_PORT\":\"10001\"}";
        String blue = withTasks(labelledHostApp("/shop-blue", labels, "[]", "[" + portDef(10001, "tcp", "{}") + "]"),
                task("/shop-blue", "b1", "TASK_RUNNING", "10.0.1.7", 31001));
        String green = withTasks(labelledHostApp("/shop-green", labels, "[]", "[" + portDef(10002, "tcp", "{}") + "]"),
                task("/shop-green", "g1", "TASK_RUNNING", "10.0.1.8", 31002));
        String intruder = withTasks(labelledHostApp("/zzz", "{\"HAPROXY_GROUP\":\"external\"}", "[]",
                "[" + portDef(10001, "tcp", "{}") + "]"), task("/zzz", "z1", "TASK_RUNNING", "10.0.1.9", 31003));
        SnapshotBuilder.Built b = build(settings("external"), blue, green, intruder);
        assertThat(b.declared()).containsOnlyKeys("marathon-lb-shop-10001-tcp");
        assertThat(b.services().get("marathon-lb:tcp:10.0.0.5:10001")).extracting(e -> e.address())
                .containsExactlyInAnyOrder(HostPort.of("10.0.1.7", 31001), HostPort.of("10.0.1.8", 31002));
        assertThat(b.notes().get("/zzz")).singleElement().asString()
                .isEqualTo("port 0: tcp 10.0.0.5:10001 is already served by app /shop (VIP marathon-lb-shop-10001-tcp): "
                        + "not served for this app");
    }

    @Test
    void vipLabelAppsGetMarathonsCheckUnlessTheConfigTurnsItOff() {
        String app = labelledHostApp("/orders", "{}", "[" + healthCheck("MESOS_TCP", 0, null, 5, 2, 2) + "]",
                "[" + portDef(10001, "tcp", "{\"VIP_0\":\"/orders:8080\"}") + "]");
        SnapshotBuilder.Built b = build(settings(), app);
        assertThat(b.declared()).containsOnlyKeys("marathon-orders-8080-tcp");
        assertThat(b.declared().get("marathon-orders-8080-tcp").listen()).isEqualTo(HostPort.of("198.18.175.99", 8080));
        assertThat(b.declared().get("marathon-orders-8080-tcp").healthCheck()).get()
                .isInstanceOf(HealthCheckSpec.Tcp.class);
        MarathonSettings off = MarathonSettings.builder(List.of(URI.create("http://m:8080"))).healthChecks(false).build();
        assertThat(build(off, app).declared().get("marathon-orders-8080-tcp").healthCheck()).isEmpty();
    }

    @Test
    void aCommandCheckIsNotedAndLeavesTheVipWithoutActiveCheck() {
        String app = labelledHostApp("/orders", "{\"HAPROXY_GROUP\":\"external\"}", MarathonPayloads.REFERENCE_HEALTH_CHECKS,
                "[" + portDef(10001, "tcp", "{}") + "]");
        // several checks probe port 0: the first (HTTP) wins, as in Marathon-LB
        SnapshotBuilder.Built b = build(settings("external"), app);
        assertThat(b.declared().values()).singleElement().satisfies(v -> assertThat(v.healthCheck()).get()
                .isInstanceOfSatisfying(HealthCheckSpec.Http.class, h -> assertThat(h.tls()).isFalse()));
        String command = labelledHostApp("/cmd", "{\"HAPROXY_GROUP\":\"external\"}",
                "[{\"protocol\":\"COMMAND\",\"command\":{\"value\":\"true\"}}]", "[" + portDef(10002, "tcp", "{}") + "]");
        SnapshotBuilder.Built c = build(settings("external"), command);
        assertThat(c.declared().values()).singleElement().satisfies(v -> assertThat(v.healthCheck()).isEmpty());
        assertThat(c.notes().get("/cmd")).anySatisfy(n -> assertThat(n).startsWith("port 0: healthChecks: COMMAND"));
    }

    @Test
    void declaredVipNamesStayWithin63CharactersAndUnique() {
        String longId = "/" + "a".repeat(80);
        String app = labelledHostApp(longId, "{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_1_PORT\":\"10001\","
                + "\"HAPROXY_1_BIND_ADDR\":\"10.0.0.6\"}", "[]", "[" + portDef(10001, "tcp", "{}") + ","
                + portDef(10009, "tcp", "{}") + "]");
        SnapshotBuilder.Built b = build(settings("external"), app);
        assertThat(b.declared()).hasSize(2);
        assertThat(b.declared().keySet()).allSatisfy(n -> {
            assertThat(n).hasSizeLessThanOrEqualTo(63).endsWith("-10001-tcp").matches("[a-z0-9][a-z0-9._-]{0,62}");
        });
    }
}
