package io.tandem.core.control;

import io.tandem.config.HostPort;
import io.tandem.core.control.NodeControl.ConnectionPage;
import io.tandem.core.control.NodeControl.ConnectionView;
import io.tandem.core.vip.Connection;
import io.tandem.core.vip.Vip;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One page of a VIP's open TCP connections for the admin API, gathered without a lock: each event
 * loop that holds some of them gets one task that describes its own connections ({@link
 * Connection#describe}, on the loop that owns their fields) and answers with the lowest
 * {@code limit} ids above the cursor plus how many matched; the pages are merged here, off the
 * loops. A loop walks the VIP's connection set once (skipping the other loops'), describes only
 * its own, and keeps at most {@code limit + 1} of them: O(n log limit) time, O(limit) memory.
 */
final class ConnectionListing {
    /** A loop that does not answer within this is a bug or a wedged loop: the listing fails, the node goes on. */
    static final long LOOP_TIMEOUT_SECONDS = 5;

    private record LoopPage(int matched, List<Connection.Described> lowest) {
    }

    private ConnectionListing() {
    }

    /**
     * @param backend only connections proxied to it; null: all (also those still connecting)
     * @param after   ids above this only (0: from the first)
     * @param merge   where the loops' answers are merged (not on a loop)
     */
    static CompletableFuture<ConnectionPage> page(Vip vip, HostPort backend, int limit, long after, Instant now,
                                                  Executor merge) {
        Map<Executor, Boolean> loops = new IdentityHashMap<>();
        for (Connection c : vip.connections()) {
            Executor loop = c.loop();
            if (loop != null) {
                loops.put(loop, Boolean.TRUE);
            }
        }
        List<CompletableFuture<LoopPage>> asked = new ArrayList<>(loops.size());
        for (Executor loop : loops.keySet()) {
            CompletableFuture<LoopPage> f = new CompletableFuture<>();
            try {
                loop.execute(() -> {
                    try {
                        f.complete(onLoop(vip, loop, backend, limit, after));
                    } catch (RuntimeException e) {
                        f.completeExceptionally(e);
                    }
                });
            } catch (RejectedExecutionException e) {
                f.complete(new LoopPage(0, List.of())); // the loop is shutting down: its connections are going
            }
            asked.add(f.orTimeout(LOOP_TIMEOUT_SECONDS, TimeUnit.SECONDS).exceptionally(e -> {
                throw new IllegalStateException("an event loop did not list its connections within "
                        + LOOP_TIMEOUT_SECONDS + "s (" + e + ")");
            }));
        }
        return CompletableFuture.allOf(asked.toArray(CompletableFuture[]::new)).thenApplyAsync(v -> {
            int total = 0;
            List<Connection.Described> all = new ArrayList<>();
            for (CompletableFuture<LoopPage> f : asked) {
                LoopPage p = f.join();
                total += p.matched();
                all.addAll(p.lowest());
            }
            all.sort(Comparator.comparingLong(Connection.Described::id));
            boolean more = all.size() > limit;
            List<Connection.Described> shown = more ? all.subList(0, limit) : all;
            List<ConnectionView> views = new ArrayList<>(shown.size());
            for (Connection.Described d : shown) {
                long ageMillis = TimeUnit.NANOSECONDS.toMillis(d.ageNanos());
                views.add(new ConnectionView(d.id(), d.client() == null ? null : io.tandem.core.logging.Addresses.format(d.client()),
                        d.backend() == null ? null : d.backend().address().toString(), now.minusMillis(ageMillis),
                        ageMillis, d.bytesFromClient(), d.bytesToClient()));
            }
            Long next = more ? shown.getLast().id() : null;
            return new ConnectionPage(vip.name(), backend == null ? null : backend.toString(), total, views, next);
        }, merge);
    }

    /** On {@code loop}: its own connections of {@code vip} above the cursor, the lowest {@code limit + 1}. */
    private static LoopPage onLoop(Vip vip, Executor loop, HostPort backend, int limit, long after) {
        int keep = limit + 1; // one more than shown says whether there is a next page
        PriorityQueue<Connection.Described> lowest = new PriorityQueue<>(
                Comparator.comparingLong(Connection.Described::id).reversed());
        int matched = 0;
        for (Connection c : vip.connections()) {
            if (c.loop() != loop) {
                continue;
            }
            Connection.Described d = c.describe();
            if (d == null || d.id() <= after
                    || backend != null && (d.backend() == null || !d.backend().address().equals(backend))) {
                continue;
            }
            matched++;
            lowest.add(d);
            if (lowest.size() > keep) {
                lowest.poll();
            }
        }
        return new LoopPage(matched, new ArrayList<>(lowest));
    }
}
