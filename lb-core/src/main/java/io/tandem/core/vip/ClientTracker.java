package io.tandem.core.vip;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.tandem.config.Limits;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A VIP's per-client counters ({@code limits.per_client}, HAProxy's stick table with
 * {@code src_conn_cur} and {@code src_conn_rate}): connections open now and a token bucket of new
 * ones per second, per client address or prefix. Any event loop admits and releases; each key's
 * state changes inside the map's per-key {@code compute}, so no lock of ours is held.
 *
 * <p>Memory is bounded: at most {@code max_clients} entries (the least recently seen are forgotten
 * first), and an entry with no open connection is forgotten once its bucket would be full again
 * (one second). An entry with open connections stays (its expiry is infinite) unless the size
 * bound evicts it under a flood of new clients; its connections still release the slot they hold,
 * and the client is counted afresh from then on — the bound wins over exactness, on purpose.
 */
public final class ClientTracker {
    /** Why a client was refused, as the {@code reason} label spells it. */
    public enum Refusal {
        CLIENT_CONNECTIONS("client_connections"), CLIENT_RATE("client_rate");

        private final String label;

        Refusal(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** What a connection holds while it is open: release it exactly once when it ends. */
    public static final class Slot {
        private final Key key;
        private final AtomicInteger live = new AtomicInteger();
        private double tokens = -1;      // changed only inside compute for this key
        private long refilledAt;

        private Slot(Key key) {
            this.key = key;
        }
    }

    /** A client address masked to its prefix, IPv4 in the IPv4-mapped block of one 128-bit space. */
    private record Key(long hi, long lo) {
    }

    private static final long FORGET_IDLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private volatile Cache<Key, Slot> cache;
    private volatile int capacity;

    /**
     * Counts a new client connection (UDP: session) from {@code client} under {@code limits}:
     * the slot to release when it ends, or the refusal.
     */
    public Admission admit(InetAddress client, Limits.PerClient limits, long nowNanos) {
        Key key = key(client, limits);
        Cache<Key, Slot> c = cache(limits.maxClients());
        Refusal[] refused = new Refusal[1];
        Slot slot = c.asMap().compute(key, (k, s) -> {
            Slot x = s != null ? s : new Slot(k);
            if (limits.maxConnections() > 0 && x.live.get() >= limits.maxConnections()) {
                refused[0] = Refusal.CLIENT_CONNECTIONS;
                return x;
            }
            if (limits.maxRate() > 0) {
                double rate = limits.maxRate();
                if (x.tokens < 0) {
                    x.tokens = rate;
                } else {
                    x.tokens = Math.min(rate, x.tokens + (nowNanos - x.refilledAt) * rate / 1e9);
                }
                x.refilledAt = nowNanos;
                if (x.tokens < 1) {
                    refused[0] = Refusal.CLIENT_RATE;
                    return x;
                }
                x.tokens -= 1;
            }
            x.live.incrementAndGet();
            return x;
        });
        if (refused[0] != null) {
            return new Admission(null, refused[0]);
        }
        return new Admission(slot, null);
    }

    /** The outcome of {@link #admit}: a slot, or the refusal. */
    public record Admission(Slot slot, Refusal refusal) {
    }

    /** The connection holding {@code slot} ended. Idempotence is the caller's (release once). */
    public void release(Slot slot) {
        Cache<Key, Slot> c = cache;
        if (c == null) {
            slot.live.decrementAndGet();
            return;
        }
        // Through compute when the slot is still the mapped one, so its expiry is recomputed
        // (an idle entry is then forgotten a second later); an evicted slot just counts down.
        Slot mapped = c.asMap().computeIfPresent(slot.key, (k, s) -> {
            if (s == slot) {
                s.live.decrementAndGet();
            }
            return s;
        });
        if (mapped != slot) {
            slot.live.decrementAndGet();
        }
    }

    /** Clients tracked now (approximate, for the metric). */
    public long tracked() {
        Cache<Key, Slot> c = cache;
        return c == null ? 0 : c.estimatedSize();
    }

    /** Open connections counted for {@code client} under {@code limits} (tests and the admin API). */
    public int open(InetAddress client, Limits.PerClient limits) {
        Cache<Key, Slot> c = cache;
        Slot s = c == null ? null : c.getIfPresent(key(client, limits));
        return s == null ? 0 : s.live.get();
    }

    private Cache<Key, Slot> cache(int maxClients) {
        Cache<Key, Slot> c = cache;
        if (c != null && capacity == maxClients) {
            return c;
        }
        synchronized (this) {
            if (cache == null) {
                cache = Caffeine.newBuilder().maximumSize(maxClients).expireAfter(new IdleExpiry())
                        .executor(Runnable::run).build();
            } else if (capacity != maxClients) {
                cache.policy().eviction().ifPresent(e -> e.setMaximum(maxClients)); // a reload changed max_clients
            }
            capacity = maxClients;
            return cache;
        }
    }

    /** Kept while connections are open; forgotten a second after the last one (its bucket is full by then). */
    private static final class IdleExpiry implements Expiry<Key, Slot> {
        @Override
        public long expireAfterCreate(Key key, Slot value, long currentTime) {
            return value.live.get() > 0 ? Long.MAX_VALUE : FORGET_IDLE_NANOS;
        }

        @Override
        public long expireAfterUpdate(Key key, Slot value, long currentTime, long currentDuration) {
            return value.live.get() > 0 ? Long.MAX_VALUE : FORGET_IDLE_NANOS;
        }

        @Override
        public long expireAfterRead(Key key, Slot value, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }

    private static Key key(InetAddress client, Limits.PerClient limits) {
        byte[] b = client.getAddress();
        if (client instanceof Inet4Address) {
            long v4 = ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
            int len = limits.ipv4Prefix();
            long mask = len == 0 ? 0 : (0xffff_ffffL << (32 - len)) & 0xffff_ffffL;
            return new Key(0, 0x0000_ffff_0000_0000L | (v4 & mask));
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (b[i] & 0xffL);
            lo = (lo << 8) | (b[i + 8] & 0xffL);
        }
        int len = limits.ipv6Prefix();
        if (len <= 64) {
            hi &= len == 0 ? 0 : -1L << (64 - len);
            lo = 0;
        } else if (len < 128) {
            lo &= -1L << (128 - len);
        }
        return new Key(hi, lo);
    }
}
