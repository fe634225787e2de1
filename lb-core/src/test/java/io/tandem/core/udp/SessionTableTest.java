package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class SessionTableTest {
    private static Session session(int port) {
        return new Session(new InetSocketAddress("127.0.0.1", port), null, 0, false, null);
    }

    @Test
    void eldestIsTheLeastRecentlyTouchedSession() {
        SessionTable t = new SessionTable();
        Session a = session(1);
        Session b = session(2);
        Session c = session(3);
        t.add(a, 1);
        t.add(b, 2);
        t.add(c, 3);
        assertThat(t.eldest()).isSameAs(a);
        t.touch(a, 4);
        assertThat(t.eldest()).isSameAs(b);
        t.touch(c, 5);
        assertThat(t.eldest()).isSameAs(b);
        assertThat(t.remove(b)).isTrue();
        assertThat(t.eldest()).isSameAs(a);
        assertThat(t.size()).isEqualTo(2);
    }

    @Test
    void removingTwiceOrRemovingAReplacedSessionIsHarmless() {
        SessionTable t = new SessionTable();
        Session a = session(1);
        t.add(a, 1);
        assertThat(t.remove(a)).isTrue();
        assertThat(t.remove(a)).isFalse();
        assertThat(t.eldest()).isNull();
        assertThat(t.get(a.client)).isNull();
        t.touch(a, 2); // touching a removed session must not resurrect it in the list
        assertThat(t.eldest()).isNull();
    }

    @Test
    void ipv4KeyedSessionsAreFoundByKeyAndSurviveManyAddsAndRemovals() {
        SessionTable t = new SessionTable();
        java.util.Map<Long, Session> reference = new java.util.HashMap<>();
        java.util.Random random = new java.util.Random(42);
        for (int round = 0; round < 20_000; round++) {
            // Few distinct keys with close values: long probe runs, collisions and wrap-around in the map.
            long key = (random.nextInt(300) << 16) | 2L;
            Session existing = reference.get(key);
            if (existing == null) {
                Session s = new Session(new InetSocketAddress("127.0.0.1", (int) (key >>> 16) + 1), null, key, true,
                        null);
                t.add(s, round);
                reference.put(key, s);
            } else if (random.nextBoolean()) {
                assertThat(t.remove(existing)).isTrue();
                reference.remove(key);
            }
            long probe = (random.nextInt(300) << 16) | 2L;
            assertThat(t.get4(probe)).isSameAs(reference.get(probe));
        }
        assertThat(t.size()).isEqualTo(reference.size());
        for (var e : reference.entrySet()) {
            assertThat(t.get4(e.getKey())).isSameAs(e.getValue());
            assertThat(t.get(e.getValue().client)).as("keyed sessions are not in the address map").isNull();
            assertThat(t.find(e.getValue().client)).isSameAs(e.getValue());
        }
    }

    @Test
    void removingAKeyedSessionThatWasReplacedLeavesTheNewOneInPlace() {
        SessionTable t = new SessionTable();
        Session old = new Session(new InetSocketAddress("127.0.0.1", 1), null, 7L, true, null);
        Session other = new Session(new InetSocketAddress("127.0.0.1", 1), null, 7L, true, null);
        t.add(old, 1);
        assertThat(t.remove(old)).isTrue();
        t.add(other, 2);
        assertThat(t.remove(old)).isFalse();
        assertThat(t.get4(7L)).isSameAs(other);
        assertThat(t.eldest()).isSameAs(other);
    }
}
