package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.core.control.NodeControl.ConnectionPage;
import io.tandem.core.control.NodeControl.ConnectionView;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.Connection;
import io.tandem.core.vip.Vip;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Paging over connections held by several event loops: each loop describes only its own (on its
 * own thread), the pages merge in id order, every connection is listed once across the pages, a
 * backend filter holds, and a connection with nothing to show (closing) is left out.
 */
class ConnectionListingTest {
    private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
    private final ExecutorService loop1 = Executors.newSingleThreadExecutor(r -> new Thread(r, "loop-1"));
    private final ExecutorService loop2 = Executors.newSingleThreadExecutor(r -> new Thread(r, "loop-2"));
    private final Backend a = Backend.of(HostPort.of("10.0.0.1", 80), 1);
    private final Backend b = Backend.of(HostPort.of("10.0.0.2", 80), 1);

    @AfterEach
    void stop() {
        loop1.shutdownNow();
        loop2.shutdownNow();
    }

    /** A connection that may only be described on its own loop, as TcpConnection's fields demand. */
    private record Fake(long id, ExecutorService loop, String thread, Backend backend, boolean closing)
            implements Connection {
        @Override
        public void reset() {
        }

        @Override
        public Described describe() {
            assertThat(Thread.currentThread().getName()).as("described on its own loop").isEqualTo(thread);
            return closing ? null : new Described(id, new InetSocketAddress("10.9.0.1", 40000 + (int) id), backend,
                    TimeUnit.SECONDS.toNanos(id), id * 10, id * 100);
        }
    }

    private Vip vip(Fake... connections) {
        var config = Rig.vips(Rig.vip("web", 1, "10.0.0.1:80")).vips().getFirst();
        Vip v = new Vip("web", new BackendPool(config, List.of(),
                io.tandem.core.policy.Policies.create(config.policy(), List.of()), false, 0));
        v.connections().addAll(List.of(connections));
        return v;
    }

    private ConnectionPage page(Vip v, HostPort backend, int limit, long after) throws Exception {
        return ConnectionListing.page(v, backend, limit, after, NOW, Runnable::run).get(10, TimeUnit.SECONDS);
    }

    @Test
    void pagesCoverEveryConnectionOnceInIdOrderAcrossLoops() throws Exception {
        Vip v = vip(new Fake(1, loop1, "loop-1", a, false), new Fake(2, loop2, "loop-2", b, false),
                new Fake(3, loop1, "loop-1", a, false), new Fake(4, loop2, "loop-2", a, false),
                new Fake(5, loop1, "loop-1", b, false), new Fake(6, loop2, "loop-2", null, false),
                new Fake(7, loop1, "loop-1", a, true));

        List<Long> ids = new ArrayList<>();
        ConnectionPage p = page(v, null, 2, 0);
        assertThat(p.matched()).isEqualTo(6);
        assertThat(p.next()).isEqualTo(2L);
        ConnectionView first = p.connections().getFirst();
        assertThat(first.client()).isEqualTo("10.9.0.1:40001");
        assertThat(first.backend()).isEqualTo("10.0.0.1:80");
        assertThat(first.ageMillis()).isEqualTo(1000);
        assertThat(first.since()).isEqualTo(NOW.minusSeconds(1));
        assertThat(first.bytesFromClient()).isEqualTo(10);
        assertThat(first.bytesToClient()).isEqualTo(100);
        p.connections().forEach(c -> ids.add(c.id()));
        while (p.next() != null) {
            p = page(v, null, 2, p.next());
            p.connections().forEach(c -> ids.add(c.id()));
        }
        assertThat(ids).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(page(v, null, 2, 4).connections()).extracting(ConnectionView::backend)
                .containsExactly("10.0.0.2:80", null);
    }

    @Test
    void aBackendFilterListsOnlyItsConnections() throws Exception {
        Vip v = vip(new Fake(1, loop1, "loop-1", a, false), new Fake(2, loop2, "loop-2", b, false),
                new Fake(3, loop2, "loop-2", a, false), new Fake(4, loop1, "loop-1", null, false));

        ConnectionPage p = page(v, a.address(), 10, 0);

        assertThat(p.matched()).isEqualTo(2);
        assertThat(p.connections()).extracting(ConnectionView::id).containsExactly(1L, 3L);
        assertThat(p.next()).isNull();
        assertThat(p.backend()).isEqualTo("10.0.0.1:80");
    }

    @Test
    void aVipWithoutConnectionsListsNothing() throws Exception {
        ConnectionPage p = page(vip(), null, 10, 0);
        assertThat(p.matched()).isZero();
        assertThat(p.connections()).isEmpty();
        assertThat(p.next()).isNull();
    }
}
