package io.tandem.core.control;

import static io.tandem.core.control.Rig.lines;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.config.Locality;
import io.tandem.core.pool.Backend;
import io.tandem.discovery.Endpoint;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * A backend's locality and priority travel from config, discovery and the CIDR map to the
 * data-path {@link Backend}, the published split, the views and the logs.
 */
class LocalityReachesThePoolTest {
    private final Rig rig = new Rig();

    private Backend pooled(String vip, String address) {
        return rig.r.vip(vip).published.backends().stream().filter(b -> b.address().toString().equals(address))
                .findFirst().orElseThrow();
    }

    @Test
    void staticLocalityWinsPartByPartOverTheCidrMap() {
        List<Action> out = rig.propose(Rig.config("""
                node: {region: eu, zone: eu-a}
                locality:
                  cidrs:
                    - {cidr: 10.0.0.0/24, region: eu, zone: eu-a}
                    - {cidr: 10.0.1.0/24, region: eu, zone: eu-b, rack: r1}
                vips:
                  - name: web
                    listen: 10.1.0.1:80
                    locality: {zone_aware: true, min_cluster_size: 1}
                    backends:
                      - 10.0.0.1:80
                      - {address: 10.0.1.1:80, rack: r9}
                      - {address: 10.0.2.1:80, region: us, zone: us-a, priority: 1}
                """));
        assertThat(pooled("web", "10.0.0.1:80").locality()).isEqualTo(Locality.of("eu", "eu-a"));
        assertThat(pooled("web", "10.0.1.1:80").locality()).isEqualTo(Locality.of("eu", "eu-b", "r9"));
        assertThat(pooled("web", "10.0.2.1:80").locality()).isEqualTo(Locality.of("us", "us-a"));
        assertThat(pooled("web", "10.0.2.1:80").priority()).isEqualTo(1);
        assertThat(rig.r.vip("web").published.routing().localShare()).isEqualTo(10_000);
        assertThat(lines(out, Level.INFO)).anyMatch(l -> l.startsWith("vip locality vip=web local_share=100.00%"));
        assertThat(lines(out, Level.INFO)).anyMatch(l -> l.contains("backend added vip=web backend=10.0.1.1:80")
                && l.contains("locality=eu/eu-b/r9 priority=0"));
        var view = Views.backend(rig.r.vip("web").backends.get(HostPort.parse("10.0.2.1:80")));
        assertThat(view.region()).isEqualTo("us");
        assertThat(view.zone()).isEqualTo("us-a");
        assertThat(view.rack()).isNull();
        assertThat(view.priority()).isEqualTo(1);
        assertThat(view.locality()).isEqualTo("us/us-a");
    }

    @Test
    void discoveredLocalityIsKeptAndAMissingOneComesFromTheMap() {
        rig.propose(Rig.config("""
                locality:
                  cidrs: [{cidr: 10.0.9.0/24, zone: z9}]
                discovery: {zookeeper: {connect: "zk1:2181"}}
                vips:
                  - {name: orders, listen: 10.1.0.1:80, service: orders}
                """));
        HostPort a = HostPort.parse("10.0.9.1:80");
        HostPort b = HostPort.parse("10.0.9.2:80");
        rig.run(r -> r.discovered("zookeeper", Map.of("orders", List.of(
                new Discovery.Resolved(new Endpoint(a, 1, Locality.of("eu", "eu-c"), true, false, "zookeeper:/a"),
                        new InetSocketAddress(a.host(), a.port())),
                new Discovery.Resolved(Endpoint.of(b, "zookeeper:/b"), new InetSocketAddress(b.host(), b.port())))),
                Map.of(), rig.now));
        assertThat(pooled("orders", "10.0.9.1:80").locality()).isEqualTo(Locality.of("eu", "eu-c"));
        assertThat(pooled("orders", "10.0.9.2:80").locality()).isEqualTo(Locality.of(null, "z9"));
    }

    @Test
    void aReloadThatMovesABackendKeepsItsCountersAndRepublishes() {
        rig.propose(Rig.config("""
                vips:
                  - name: web
                    listen: 10.1.0.1:80
                    backends: [{address: 10.0.0.1:80, zone: a}]
                """));
        Backend before = pooled("web", "10.0.0.1:80");
        before.stats().totalConnections.add(5);
        List<Action> out = rig.propose(Rig.config("""
                vips:
                  - name: web
                    listen: 10.1.0.1:80
                    backends: [{address: 10.0.0.1:80, zone: b, priority: 1}]
                """));
        Backend after = pooled("web", "10.0.0.1:80");
        assertThat(after.locality().zone()).contains("b");
        assertThat(after.priority()).isEqualTo(1);
        assertThat(after).isEqualTo(before);
        assertThat(after.stats().totalConnections.sum()).isEqualTo(5);
        assertThat(lines(out, Level.INFO)).anyMatch(l -> l.startsWith("backend placement vip=web backend=10.0.0.1:80"));
    }
}
