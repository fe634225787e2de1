package io.tandem.discovery.marathon;

import static io.tandem.discovery.marathon.testing.MarathonPayloads.healthCheck;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.labelledHostApp;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.portDef;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.statusUpdate;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HostPort;
import io.tandem.config.LabelSelector;
import io.tandem.config.VipConfig;
import io.tandem.discovery.marathon.MarathonSourceIT.Recorder;
import io.tandem.discovery.marathon.testing.FakeMarathon;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Marathon-LB apps, filters, counters and the snapshot on disk, end to end against the fake
 * Marathon: a node's groups pick the apps it declares VIPs for; the label selector goes to
 * Marathon and also filters every app read; the source counts resyncs, reconnects and
 * propagation; a source started with Marathon unreachable serves what it last saved.
 */
class MarathonLbSourceIT {

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Recorder rec = new Recorder();

    @TempDir
    Path state;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private static ConditionFactory eventually() {
        return await().atMost(10, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(5));
    }

    private FakeMarathon fake() throws IOException {
        FakeMarathon f = FakeMarathon.leader();
        f.heartbeat(Duration.ofMillis(200)); // well inside the 5 s silence timeout
        closeables.add(f);
        return f;
    }

    private static MarathonSettings.Builder settings(URI... urls) {
        return MarathonSettings.builder(List.of(urls))
                .silenceTimeout(Duration.ofSeconds(5))
                .connectTimeout(Duration.ofSeconds(2))
                .backoff(Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(10));
    }

    private MarathonSource start(MarathonSettings s, Recorder r) {
        MarathonSource src = new MarathonSource(s);
        closeables.add(src);
        src.start(r);
        return src;
    }

    private static final String SHOP = labelledHostApp("/shop", "{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_VHOST\":"
            + "\"shop.example.com\"}", "[" + healthCheck("HTTP", 0, "/health", 1, 1, 2) + "]",
            "[" + portDef(10001, "tcp", "{}") + "]");
    private static final String BILLING = labelledHostApp("/billing", "{\"HAPROXY_GROUP\":\"internal\"}", "[]",
            "[" + portDef(10002, "tcp", "{}") + "]");

    @Test
    void aNodeDeclaresVipsForTheAppsOfItsGroupsOnlyAndNotesWhatDoesNotApply() throws Exception {
        FakeMarathon m = fake();
        m.putApp(SHOP);
        m.putTask("/shop", task("/shop", "shop.1", "TASK_RUNNING", "127.0.0.1", 31001));
        m.putApp(BILLING);
        m.putTask("/billing", task("/billing", "billing.1", "TASK_RUNNING", "127.0.0.1", 31002));
        MarathonSource src = start(settings(m.baseUri()).marathonLb(Set.of("external"), "127.0.0.2", false).build(), rec);

        eventually().until(() -> !src.declaredVips().isEmpty() && rec.last != null && !rec.last.stale());
        assertThat(src.declaredVips()).containsOnlyKeys("marathon-lb-shop-10001-tcp");
        VipConfig v = src.declaredVips().get("marathon-lb-shop-10001-tcp");
        assertThat(v.listen()).isEqualTo(HostPort.of("127.0.0.2", 10001));
        assertThat(v.healthCheck()).get().isInstanceOf(HealthCheckSpec.Http.class);
        assertThat(rec.addresses("marathon-lb:tcp:127.0.0.2:10001")).containsExactly(HostPort.of("127.0.0.1", 31001));
        assertThat(src.state().notes()).containsOnlyKeys("/shop");
        assertThat(src.state().notes().get("/shop")).anySatisfy(n -> assertThat(n).startsWith("HAPROXY_0_VHOST:"));

        // A label change reaches the node (a snapshot is handed over) even though no backend changed.
        int handedOver = rec.snaps.size();
        m.putApp(SHOP.replace("\"HAPROXY_GROUP\":\"external\"", "\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_BALANCE\":"
                + "\"source\""));
        m.putTask("/shop", task("/shop", "shop.1", "TASK_RUNNING", "127.0.0.1", 31001));
        m.emit("api_post_event", "{\"eventType\":\"api_post_event\",\"uri\":\"/v2/apps/shop\",\"appDefinition\":"
                + "{\"id\":\"/shop\"}}");
        eventually().until(() -> src.declaredVips().get("marathon-lb-shop-10001-tcp").policy()
                == io.tandem.config.PolicyKind.MAGLEV);
        eventually().until(() -> rec.snaps.size() > handedOver);
        assertThat(rec.last.stale()).isFalse();
    }

    @Test
    void theLabelSelectorGoesToMarathonAndFiltersEveryAppReadWithoutRefetchLoops() throws Exception {
        FakeMarathon m = fake();
        m.putApp(SHOP);
        m.putTask("/shop", task("/shop", "shop.1", "TASK_RUNNING", "127.0.0.1", 31001));
        m.putApp(BILLING);
        m.putTask("/billing", task("/billing", "billing.1", "TASK_RUNNING", "127.0.0.1", 31002));
        MarathonSource src = start(settings(m.baseUri()).labelSelector(LabelSelector.parse("HAPROXY_GROUP==external"))
                .build(), rec);

        eventually().until(() -> rec.last != null && !rec.last.stale() && !rec.addresses("/shop#0").isEmpty());
        assertThat(m.appListLabelQueries()).allSatisfy(q -> assertThat(q).isEqualTo("HAPROXY_GROUP==external"));
        assertThat(rec.last.services()).containsOnlyKeys("/shop#0");

        // Events about an app the selector leaves out: one fetch to learn it is out, then none.
        m.emit("status_update_event", statusUpdate("/billing", "billing.2", "TASK_RUNNING", "127.0.0.1", 31003));
        eventually().until(() -> m.appRequests() == 1);
        for (int i = 3; i < 8; i++) {
            m.emit("status_update_event", statusUpdate("/billing", "billing." + i, "TASK_RUNNING", "127.0.0.1", 31000 + i));
        }
        // a marker event on the selected app, processed after the others, proves they were handled
        m.putTask("/shop", task("/shop", "shop.2", "TASK_RUNNING", "127.0.0.1", 31009));
        m.emit("status_update_event", statusUpdate("/shop", "shop.2", "TASK_RUNNING", "127.0.0.1", 31009));
        eventually().until(() -> rec.addresses("/shop#0").contains(HostPort.of("127.0.0.1", 31009)));
        assertThat(m.appRequests()).as("no re-fetch per event of an excluded app").isEqualTo(1);
        assertThat(rec.last.services()).containsOnlyKeys("/shop#0");
        assertThat(src.stats().snapshot().propagationCount()).isPositive();
    }

    @Test
    void resyncsReconnectsAndPropagationAreCounted() throws Exception {
        FakeMarathon m = fake();
        m.putApp(SHOP);
        MarathonSource src = start(settings(m.baseUri()).build(), rec);
        eventually().until(() -> src.state().connected() && rec.last != null && !rec.last.stale());
        assertThat(src.stats().resyncs()).isEqualTo(1);
        assertThat(src.stats().connected()).isTrue();
        assertThat(src.stats().lastUpdateAt()).isPresent();

        m.putTask("/shop", task("/shop", "shop.1", "TASK_RUNNING", "127.0.0.1", 31001));
        m.emit("status_update_event", statusUpdate("/shop", "shop.1", "TASK_RUNNING", "127.0.0.1", 31001));
        eventually().until(() -> src.stats().snapshot().propagationCount() == 1);
        assertThat(src.stats().snapshot().propagationSecondsSum()).isBetween(0.0, 5.0);

        m.abdicate();
        eventually().until(() -> src.stats().reconnects() == 1 && src.stats().resyncs() == 2 && !rec.last.stale());
        m.emitRaw("event: status_update_event\r\ndata: {not json\r\n\r\n");
        eventually().until(() -> src.stats().droppedCount("event") == 1);
    }

    @Test
    void aSourceStartedWithMarathonUnreachableServesTheSavedAppsStaleThenMarathonsOwn() throws Exception {
        FakeMarathon m = fake();
        m.putApp(SHOP);
        m.putTask("/shop", task("/shop", "shop.1", "TASK_RUNNING", "127.0.0.1", 31001));
        MarathonSettings.Builder b = settings(m.baseUri()).marathonLb(Set.of("external"), "127.0.0.2", false)
                .stateDir(state);
        MarathonSource first = start(b.build(), rec);
        // an event patches the model after the resync: the saved file has it too
        m.putTask("/shop", task("/shop", "shop.2", "TASK_RUNNING", "127.0.0.1", 31002));
        m.emit("status_update_event", statusUpdate("/shop", "shop.2", "TASK_RUNNING", "127.0.0.1", 31002));
        Path file = state.resolve("marathon.json");
        eventually().until(() -> Files.exists(file) && Files.readString(file).contains("shop.2"));
        first.close();

        // Marathon unreachable: the saved apps are served at once, stale, declared VIPs included.
        Recorder down = new Recorder();
        URI nowhere = URI.create("http://127.0.0.1:" + unusedPort());
        MarathonSource restored = start(settings(nowhere).marathonLb(Set.of("external"), "127.0.0.2", false)
                .stateDir(state).build(), down);
        eventually().until(() -> down.last != null);
        assertThat(down.last.stale()).isTrue();
        assertThat(down.addresses("/shop#0")).containsExactlyInAnyOrder(HostPort.of("127.0.0.1", 31001),
                HostPort.of("127.0.0.1", 31002));
        assertThat(restored.declaredVips()).containsOnlyKeys("marathon-lb-shop-10001-tcp");
        assertThat(restored.state().restored()).isTrue();
        assertThat(restored.state().staleSince()).isPresent();
        await().during(Duration.ofSeconds(1)).atMost(10, TimeUnit.SECONDS).until(() ->
                down.snaps.stream().allMatch(s -> s.stale() && s.addresses("/shop#0").size() == 2));

        // The same state with Marathon up: the saved apps first, then Marathon's own (shop.2 is gone).
        m.removeTask("/shop", "shop.2");
        Recorder up = new Recorder();
        MarathonSource back = start(b.build(), up);
        eventually().until(() -> up.last != null && !up.last.stale());
        assertThat(up.snaps.getFirst().stale()).isTrue();
        assertThat(up.addresses("/shop#0")).containsExactly(HostPort.of("127.0.0.1", 31001));
        assertThat(back.state().restored()).isFalse();
    }

    @Test
    void aCorruptSnapshotIsIgnoredAndNothingIsServedUntilMarathonAnswers() throws Exception {
        Files.writeString(state.resolve("marathon.json"), "{\"format\":\"tandem-discovery-snapshot/1\",\"source\":"
                + "\"marathon\",\"kind\":\"marathon-apps\",\"savedAt\":\"2026-01-01T00:00:00Z\",\"data\":{\"apps\":7}}");
        URI nowhere = URI.create("http://127.0.0.1:" + unusedPort());
        MarathonSource src = start(settings(nowhere).stateDir(state).build(), rec);
        await().during(Duration.ofSeconds(1)).atMost(5, TimeUnit.SECONDS).until(() -> rec.snaps.isEmpty());
        assertThat(src.state().restored()).isFalse();
    }

    private static int unusedPort() throws IOException {
        try (var s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
