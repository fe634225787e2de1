package io.tandem.discovery.marathon;

import static io.tandem.discovery.marathon.testing.MarathonPayloads.hostApp;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.instanceHealth;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.portDef;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.statusUpdate;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.task;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.config.HostPort;
import io.tandem.discovery.DiscoverySource;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.marathon.testing.FakeMarathon;
import io.tandem.discovery.marathon.testing.MarathonPayloads;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** MarathonSource end to end against {@link FakeMarathon} on loopback. */
class MarathonSourceIT {

    private static final String ORDERS_PORTS = "[" + portDef(10000, "tcp", "{\"VIP_0\":\"/orders:8080\"}") + "]";

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Recorder rec = new Recorder();

    record Snap(Map<String, Set<Endpoint>> services, boolean stale, long nanos) {
        Set<HostPort> addresses(String service) {
            return services.getOrDefault(service, Set.of()).stream().map(Endpoint::address).collect(Collectors.toSet());
        }

        Optional<Endpoint> endpoint(String service, HostPort address) {
            return services.getOrDefault(service, Set.of()).stream().filter(e -> e.address().equals(address)).findFirst();
        }
    }

    static final class Recorder implements DiscoverySource.Listener {
        final List<Snap> snaps = new CopyOnWriteArrayList<>();
        volatile Snap last;
        volatile HostPort watched;
        volatile long watchedSeenAt;

        @Override
        public void onSnapshot(DiscoverySource source, Map<String, Set<Endpoint>> services, boolean stale) {
            Snap s = new Snap(services, stale, System.nanoTime());
            HostPort w = watched;
            if (w != null && s.addresses("/lat#0").contains(w)) {
                watchedSeenAt = s.nanos();
                watched = null;
            }
            snaps.add(s);
            last = s;
        }

        Set<HostPort> addresses(String service) {
            Snap s = last;
            return s == null ? Set.of() : s.addresses(service);
        }
    }

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
        closeables.add(f);
        return f;
    }

    private MarathonSettings.Builder settings(URI... urls) {
        return MarathonSettings.builder(List.of(urls))
                .silenceTimeout(Duration.ofSeconds(5))
                .connectTimeout(Duration.ofSeconds(2))
                .backoff(Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(10));
    }

    private MarathonSource start(MarathonSettings s) {
        MarathonSource src = new MarathonSource(s);
        closeables.add(src);
        src.start(rec);
        return src;
    }

    private static String ordersTask(int n, String state) {
        return task("/orders", "orders.instance-" + n + "._app.1", state, "agent-" + n, 31000 + n);
    }

    private static HostPort ordersAddr(int n) {
        return HostPort.of("agent-" + n, 31000 + n);
    }

    /** A fake with /orders (one RUNNING task) and a started, resynced source on it. */
    private MarathonSource ordersRunning(FakeMarathon fake, MarathonSettings.Builder b) {
        fake.putApp(hostApp("/orders", ORDERS_PORTS));
        fake.putTask("/orders", ordersTask(1, "TASK_RUNNING"));
        MarathonSource src = start(b.build());
        eventually().until(() -> rec.addresses("/orders#0").contains(ordersAddr(1)) && !rec.last.stale());
        return src;
    }

    @Test
    void attachThenResyncPublishesTheReferenceAppWithExactlyOneAcceptValue() throws Exception {
        FakeMarathon fake = fake();
        String app = new ObjectMapper().readTree(MarathonPayloads.REFERENCE_APPS).get("apps").get(0).toString();
        fake.putApp(app);
        MarathonSource src = start(settings(fake.baseUri()).build());

        eventually().until(() -> rec.addresses("/pywebserver#0").contains(HostPort.of("10.0.2.148", 1565)));
        assertThat(rec.last.stale()).isFalse();
        assertThat(fake.eventAcceptHeaders()).isNotEmpty().allSatisfy(h -> assertThat(h).containsExactly("text/event-stream"));
        assertThat(fake.appListRequests()).isEqualTo(1);
        assertThat(src.state().connected()).isTrue();
        assertThat(src.state().staleSince()).isEmpty();
        assertThat(src.state().lastEventAt()).isPresent();
        assertThat(src.state().droppedEntries()).isZero();
    }

    @Test
    void theFakeRejectsACombinedAcceptValueWith405LikeJetty() throws Exception {
        FakeMarathon fake = fake();
        try (HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(fake.baseUri() + "/v2/events"))
                    .header("Accept", "text/event-stream, */*").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(405);
        }
    }

    @Test
    void runningStatusEventForANewTaskAddsItsEndpointByPatchingWithoutRefetch() throws Exception {
        FakeMarathon fake = fake();
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()));
        MarathonVip vip = src.vips().values().iterator().next();

        fake.putTask("/orders", ordersTask(2, "TASK_RUNNING"));
        fake.emit("status_update_event", statusUpdate("/orders", "orders.instance-2._app.1", "TASK_RUNNING", "agent-2", 31002));

        eventually().until(() -> rec.addresses("/orders#0").contains(ordersAddr(2)));
        assertThat(rec.addresses(vip.serviceName())).containsExactlyInAnyOrder(ordersAddr(1), ordersAddr(2));
        assertThat(fake.appRequests()).isZero();
        assertThat(fake.appListRequests()).isEqualTo(1);
    }

    @Test
    void killingDrainsAndATerminalStateRemovesTheTask() throws Exception {
        FakeMarathon fake = fake();
        ordersRunning(fake, settings(fake.baseUri()));
        String id = "orders.instance-1._app.1";

        fake.emit("status_update_event", statusUpdate("/orders", id, "TASK_KILLING", "agent-1", 31001));
        eventually().until(() -> rec.last.endpoint("/orders#0", ordersAddr(1)).map(Endpoint::draining).orElse(false));

        fake.emit("status_update_event", statusUpdate("/orders", id, "TASK_KILLED", "agent-1", 31001));
        eventually().until(() -> rec.addresses("/orders#0").isEmpty());
        assertThat(rec.last.services()).containsKey("/orders#0");

        // a late, reordered RUNNING for the dead task does not resurrect it
        fake.emit("status_update_event", statusUpdate("/orders", id, "TASK_RUNNING", "agent-1", 31001));
        fake.emit("status_update_event", statusUpdate("/orders", "orders.instance-3._app.1", "TASK_RUNNING", "agent-3", 31003));
        eventually().until(() -> rec.addresses("/orders#0").contains(ordersAddr(3)));
        assertThat(rec.addresses("/orders#0")).containsExactly(ordersAddr(3));
    }

    @Test
    void statusEventForAnUnknownAppFetchesThatApp() throws Exception {
        FakeMarathon fake = fake();
        ordersRunning(fake, settings(fake.baseUri()));
        fake.putApp(hostApp("/new", "[" + portDef(0, "tcp", "{}") + "]"));
        fake.putTask("/new", task("/new", "new.1", "TASK_RUNNING", "agent-9", 31900));

        fake.emit("status_update_event", statusUpdate("/new", "new.1", "TASK_RUNNING", "agent-9", 31900));
        eventually().until(() -> rec.addresses("/new#0").contains(HostPort.of("agent-9", 31900)));
        assertThat(fake.appRequests()).isEqualTo(1);
    }

    @Test
    void healthEventsSetAndClearHealthyInSource() throws Exception {
        FakeMarathon fake = fake();
        ordersRunning(fake, settings(fake.baseUri()));
        String instance = "orders.instance-1";

        fake.emit("instance_health_changed_event", instanceHealth(instance, "/orders", false));
        eventually().until(() -> !rec.last.endpoint("/orders#0", ordersAddr(1)).orElseThrow().healthyInSource());

        fake.emit("instance_health_changed_event", instanceHealth(instance, "/orders", true));
        eventually().until(() -> rec.last.endpoint("/orders#0", ordersAddr(1)).orElseThrow().healthyInSource());

        fake.emit("health_status_changed_event", MarathonPayloads.REFERENCE_HEALTH_STATUS_CHANGED
                .replace("my-app.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c", instance).replace("\"alive\":true", "\"alive\":false"));
        eventually().until(() -> !rec.last.endpoint("/orders#0", ordersAddr(1)).orElseThrow().healthyInSource());
    }

    @Test
    void apiPostEventFetchesTheAppAndItsVipAndAppTerminatedRemovesThem() throws Exception {
        FakeMarathon fake = fake();
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()));
        fake.putApp(hostApp("/my-app", "[" + portDef(10001, "udp,tcp", "{\"VIP_0\":\"10.1.0.10:5353\"}") + "]"));
        fake.putTask("/my-app", task("/my-app", "my-app.1", "TASK_RUNNING", "agent-5", 31500));

        fake.emit("api_post_event", MarathonPayloads.REFERENCE_API_POST);
        eventually().until(() -> src.vips().containsKey("vip:udp:10.1.0.10:5353"));
        assertThat(src.vips()).containsKey("vip:tcp:10.1.0.10:5353");
        assertThat(rec.addresses("vip:udp:10.1.0.10:5353")).containsExactly(HostPort.of("agent-5", 31500));

        fake.removeApp("/my-app");
        fake.emit("app_terminated_event", MarathonPayloads.REFERENCE_APP_TERMINATED);
        eventually().until(() -> !rec.last.services().containsKey("/my-app#0"));
        assertThat(src.vips()).doesNotContainKey("vip:udp:10.1.0.10:5353");
    }

    @Test
    void deploymentWithoutAPlanTriggersOneFullResync() throws Exception {
        FakeMarathon fake = fake();
        ordersRunning(fake, settings(fake.baseUri()));
        fake.putTask("/orders", ordersTask(4, "TASK_RUNNING")); // no event: only a resync can see it
        fake.emit("deployment_success", MarathonPayloads.REFERENCE_DEPLOYMENT_SUCCESS);
        eventually().until(() -> rec.addresses("/orders#0").contains(ordersAddr(4)));
        assertThat(fake.appListRequests()).isEqualTo(2);
    }

    @Test
    void standbyRedirectsTheStreamToTheLeaderAndCredentialsAreResent() throws Exception {
        FakeMarathon leader = fake();
        FakeMarathon standby = FakeMarathon.standbyOf(leader);
        closeables.add(standby);
        MarathonAuth auth = new MarathonAuth.Basic("ops", "pw");
        leader.requireAuthorization(auth.headerValue());
        standby.requireAuthorization(auth.headerValue());

        MarathonSource src = ordersRunning(leader, settings(standby.baseUri()).auth(auth));
        assertThat(standby.eventRequests()).isEqualTo(1);
        assertThat(leader.eventRequests()).isEqualTo(1);
        assertThat(leader.openStreams()).isEqualTo(1);
        assertThat(leader.authorizationHeaders()).allSatisfy(h -> assertThat(h).isEqualTo(auth.headerValue()));
        // REST then sticks to the leader the stream was redirected to
        assertThat(leader.appListRequests()).isEqualTo(1);
        assertThat(leader.eventAcceptHeaders()).allSatisfy(h -> assertThat(h).containsExactly("text/event-stream"));
        assertThat(src.state().connected()).isTrue();
    }

    @Test
    void aSecondRedirectIsAnErrorAndTheNextUrlIsTried() throws Exception {
        FakeMarathon leader = fake();
        FakeMarathon hop2 = FakeMarathon.standbyOf(leader);
        FakeMarathon hop1 = FakeMarathon.standbyOf(hop2);
        closeables.add(hop2);
        closeables.add(hop1);
        MarathonSource src = ordersRunning(leader, settings(hop1.baseUri(), leader.baseUri()));
        assertThat(src.state().lastError()).hasValueSatisfying(e -> assertThat(e).contains("second redirect"));
        assertThat(leader.openStreams()).isEqualTo(1);
    }

    @Test
    void anUnreachableFirstUrlIsSkippedInRotation() throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket(0)) {
            dead = s.getLocalPort();
        }
        FakeMarathon fake = fake();
        ordersRunning(fake, settings(URI.create("http://127.0.0.1:" + dead), fake.baseUri()));
        assertThat(fake.openStreams()).isEqualTo(1);
    }

    @Test
    void abdicationReconnectsPublishesStaleMeanwhileAndResyncs() throws Exception {
        FakeMarathon fake = fake();
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()));
        fake.putTask("/orders", ordersTask(5, "TASK_RUNNING")); // missed while detached: only the resync sees it

        fake.abdicate();
        eventually().until(() -> rec.addresses("/orders#0").contains(ordersAddr(5)) && !rec.last.stale());
        assertThat(rec.snaps).anySatisfy(s -> {
            assertThat(s.stale()).isTrue();
            assertThat(s.addresses("/orders#0")).containsExactly(ordersAddr(1)); // kept, never emptied
        });
        assertThat(fake.eventRequests()).isEqualTo(2);
        assertThat(fake.appListRequests()).isEqualTo(2);
        assertThat(src.state().connected()).isTrue();
        assertThat(src.state().staleSince()).isEmpty();
        assertThat(src.state().lastError()).hasValueSatisfying(e -> assertThat(e).contains("end of stream"));
    }

    @Test
    void slowConsumerCloseMidEventReconnectsAndTheHalfEventIsIgnored() throws Exception {
        FakeMarathon fake = fake();
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()));
        fake.slowConsumerClose();
        eventually().until(() -> fake.eventRequests() == 2 && fake.appListRequests() == 2 && !rec.last.stale());
        assertThat(src.state().droppedEntries()).isZero();
    }

    @Test
    void aSilentStreamIsDeclaredDeadAndReconnected() throws Exception {
        FakeMarathon fake = fake();
        fake.silent(true);
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()).silenceTimeout(Duration.ofMillis(300)));
        eventually().until(() -> fake.eventRequests() >= 2 && fake.appListRequests() >= 2);
        assertThat(src.state().lastError()).hasValueSatisfying(e -> assertThat(e).contains("silent for more than 300 ms"));
        // the dead stream's socket is really closed, not leaked on the Marathon side
        eventually().until(() -> fake.openStreams() <= 1);
    }

    @Test
    void heartbeatsAloneKeepTheStreamAlive() throws Exception {
        FakeMarathon fake = fake();
        fake.heartbeat(Duration.ofMillis(50));
        ordersRunning(fake, settings(fake.baseUri()).silenceTimeout(Duration.ofMillis(300)));
        await().during(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(15)).until(() -> fake.eventRequests() == 1);
    }

    @Test
    void brokenPayloadsAreDroppedAndCountedWhileTheStreamAndOtherAppsContinue() throws Exception {
        FakeMarathon fake = fake();
        fake.putApp(hostApp("/broken", "[" + portDef(0, "tcp", "{\"VIP_0\":\"/broken\"}") + "]"));
        fake.putApp("{\"id\":\"/weird\",\"networks\":[{\"mode\":\"martian\"}]}");
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()));
        assertThat(src.state().droppedEntries()).isEqualTo(2); // the label and the app
        assertThat(rec.last.services()).containsKey("/broken#0");

        fake.emitRaw("event: status_update_event\r\ndata: {not json\r\n\r\n");
        fake.emitRaw("event: some_future_event\r\ndata: {\"eventType\":\"some_future_event\"}\r\n\r\n");
        fake.emit("status_update_event", "{\"appId\":\"/orders\",\"taskStatus\":\"TASK_RUNNING\"}");
        fake.emit("status_update_event", statusUpdate("/orders", "orders.instance-6._app.1", "TASK_WEIRD", "a", 1));
        fake.emitRaw("event: status_update_event\r\ndata: [1,2]\r\n\r\n");
        fake.emit("status_update_event", statusUpdate("/orders", "orders.instance-7._app.1", "TASK_RUNNING", "agent-7", 31007));

        eventually().until(() -> rec.addresses("/orders#0").contains(ordersAddr(7)));
        assertThat(src.state().droppedEntries()).isEqualTo(7);
        assertThat(src.state().connected()).isTrue();
        assertThat(fake.eventRequests()).isEqualTo(1);
    }

    @Test
    void bearerTokenIsSentAndWrongCredentialsAreReportedNotConnected() throws Exception {
        FakeMarathon fake = fake();
        fake.requireAuthorization("Bearer right");
        ordersRunning(fake, settings(fake.baseUri()).auth(new MarathonAuth.Bearer("right")));

        FakeMarathon other = fake();
        other.requireAuthorization("Bearer right");
        MarathonSource wrong = new MarathonSource("wrong", settings(other.baseUri()).auth(new MarathonAuth.Bearer("nope")).build());
        closeables.add(wrong);
        wrong.start((s, services, stale) -> { });
        eventually().until(() -> wrong.state().lastError().map(e -> e.contains("401")).orElse(false));
        assertThat(wrong.state().connected()).isFalse();
    }

    @Test
    void restFailuresKeepTheLastMembershipStaleUntilMarathonRecovers() throws Exception {
        FakeMarathon fake = fake();
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()));
        int before = rec.snaps.size();
        fake.failRest(true);
        fake.abdicate();
        eventually().until(() -> src.state().connected() && src.state().lastError().map(e -> e.contains("503")).orElse(false));
        assertThat(rec.last.stale()).isTrue();
        assertThat(rec.snaps.subList(before, rec.snaps.size()))
                .allSatisfy(s -> assertThat(s.addresses("/orders#0")).containsExactly(ordersAddr(1)));

        fake.failRest(false);
        eventually().until(() -> !rec.last.stale());
        assertThat(src.state().staleSince()).isEmpty();
    }

    @Test
    void periodicResyncRunsWithoutAnyEvent() throws Exception {
        FakeMarathon fake = fake();
        ordersRunning(fake, settings(fake.baseUri()).resyncInterval(Duration.ofMillis(200)));
        fake.putTask("/orders", ordersTask(8, "TASK_RUNNING"));
        eventually().until(() -> rec.addresses("/orders#0").contains(ordersAddr(8)));
    }

    @Test
    void closeEndsTheStreamIsIdempotentAndTheSourceCannotRestart() throws Exception {
        FakeMarathon fake = fake();
        MarathonSource src = ordersRunning(fake, settings(fake.baseUri()));
        assertThat(fake.openStreams()).isEqualTo(1);
        src.close();
        eventually().until(() -> fake.openStreams() == 0);
        src.close();
        assertThat(src.state().connected()).isFalse();
        assertThatThrownBy(() -> src.start(rec)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("expected LATENT");
        int snaps = rec.snaps.size();
        fake.emit("status_update_event", statusUpdate("/orders", "orders.instance-9._app.1", "TASK_RUNNING", "a", 1));
        assertThat(rec.snaps).hasSize(snaps);
    }

    @Test
    void eventToSnapshotLatencyOverFiftyScaleUps() throws Exception {
        FakeMarathon fake = fake();
        fake.putApp(hostApp("/lat", "[" + portDef(0, "tcp", "{}") + "]"));
        start(settings(fake.baseUri()).build());
        eventually().until(() -> rec.last != null && rec.last.services().containsKey("/lat#0") && !rec.last.stale());

        int trials = 50;
        long[] micros = new long[trials];
        for (int i = 0; i < trials; i++) {
            String id = "lat.instance-" + i + "._app.1";
            HostPort addr = HostPort.of("agent-" + i, 32000 + i);
            fake.putTask("/lat", task("/lat", id, "TASK_RUNNING", addr.host(), addr.port()));
            rec.watchedSeenAt = 0;
            rec.watched = addr;
            long t0 = fake.emit("status_update_event", statusUpdate("/lat", id, "TASK_RUNNING", addr.host(), addr.port()));
            eventually().until(() -> rec.watchedSeenAt != 0);
            micros[i] = TimeUnit.NANOSECONDS.toMicros(rec.watchedSeenAt - t0);
        }
        Arrays.sort(micros);
        long p50 = micros[trials / 2];
        long p99 = micros[(int) Math.ceil(trials * 0.99) - 1];
        System.out.printf("marathon event->snapshot latency over %d trials: p50=%d us p99=%d us max=%d us%n",
                trials, p50, p99, micros[trials - 1]);
        assertThat(rec.addresses("/lat#0")).hasSize(trials);
        assertThat(p50).as("p50 in microseconds, generous bound for a shared machine").isLessThan(500_000);
    }
}
