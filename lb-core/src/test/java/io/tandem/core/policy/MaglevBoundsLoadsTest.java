package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.Backend;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Maglev with bounded loads (hash_balance_factor): a hot client set cannot pile more than
 * factor × average on one backend, clients keep their backend while it is under its bound, and
 * the overflow goes to the next backend in table order (the same on both nodes).
 */
class MaglevBoundsLoadsTest {
    private static final int TABLE = 65537;

    /** Opens a connection per pick (active + 1), as the data path does: returns the picked backends. */
    private static Map<Backend, Integer> openConnections(MaglevPolicy p, int clients, int perClient) {
        Map<Backend, Integer> opened = new HashMap<>();
        for (int c = 0; c < clients; c++) {
            for (int k = 0; k < perClient; k++) {
                Backend b = p.pick(client(c), List.of());
                b.stats().active.incrementAndGet();
                opened.merge(b, 1, Integer::sum);
            }
        }
        return opened;
    }

    @Test
    void aHeavyClientsLoadIsCappedAtTheFactorTimesTheAverage() {
        List<Backend> five = backends(5);
        MaglevPolicy bounded = MaglevPolicy.of(five, TABLE, 125);
        // Three clients opening 200 connections each: plain Maglev puts each client's 200 on one backend.
        openConnections(bounded, 3, 200);
        int total = 600;
        for (Backend b : five) {
            assertThat(b.active()).as("%s under ceil(1.25 × 601 / 5)", b).isLessThanOrEqualTo((int) Math.ceil(1.25 * 601 / 5));
        }
        assertThat(five.stream().mapToInt(Backend::active).sum()).isEqualTo(total);

        List<Backend> plainFive = backends(5);
        MaglevPolicy plain = MaglevPolicy.of(plainFive, TABLE, 0);
        openConnections(plain, 3, 200);
        assertThat(plainFive.stream().mapToInt(Backend::active).max().orElseThrow()).as("plain hashing piles up")
                .isGreaterThanOrEqualTo(200);
    }

    @Test
    void underTheBoundEveryClientKeepsItsMaglevBackend() {
        List<Backend> ten = backends(10);
        MaglevPolicy plain = MaglevPolicy.of(ten, TABLE, 0);
        MaglevPolicy bounded = MaglevPolicy.of(ten, TABLE, 150);
        // Spread load: 1000 clients one connection each, every backend near the average.
        for (int c = 0; c < 1000; c++) {
            Backend b = bounded.pick(client(c), List.of());
            if (b == plain.pick(client(c), List.of())) {
                b.stats().active.incrementAndGet();
            } else {
                b.stats().active.incrementAndGet();
                // A move is allowed only when the client's own backend was at its bound.
                Backend own = plain.pick(client(c), List.of());
                assertThat(own.active()).as("client %d moved off %s", c, own)
                        .isGreaterThanOrEqualTo((int) Math.ceil(1.5 * (sum(ten)) / 10));
            }
        }
        long kept = java.util.stream.IntStream.range(0, 1000)
                .filter(c -> bounded.pick(client(c), List.of()) == plain.pick(client(c), List.of())).count();
        assertThat(kept).as("most clients keep their backend").isGreaterThan(900);
    }

    @Test
    void weightsScaleTheBoundsAndTheOverflowIsDeterministic() {
        Backend heavy = backend(1, 3);
        Backend light = backend(2, 1);
        MaglevPolicy p = MaglevPolicy.of(List.of(heavy, light), TABLE, 100);
        heavy.stats().active.set(0);
        light.stats().active.set(10);
        // Total 10: light's bound is ceil(1.0 × 11 × 1/4) = 3, it is over: everything goes to heavy.
        for (int c = 0; c < 100; c++) {
            assertThat(p.pick(client(c), List.of())).isSameAs(heavy);
        }
        MaglevPolicy twin = MaglevPolicy.of(List.of(light, heavy), TABLE, 100);
        for (int c = 0; c < 100; c++) {
            assertThat(twin.pick(client(c), List.of())).as("the other node agrees").isSameAs(p.pick(client(c), List.of()));
        }
    }

    @Test
    void retriesSkipTriedBackendsEvenWhenTheOthersAreFull() {
        List<Backend> three = backends(3);
        MaglevPolicy p = MaglevPolicy.of(three, TABLE, 100);
        three.get(0).stats().active.set(100);
        three.get(1).stats().active.set(100);
        assertThat(p.pick(client(1), List.of(three.get(2)))).as("only full ones left: still an untried one")
                .isIn(three.get(0), three.get(1));
        assertThat(p.pick(client(1), List.copyOf(three))).isNull();
    }

    private static int sum(List<Backend> backends) {
        return backends.stream().mapToInt(Backend::active).sum();
    }
}
