package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class SessionTableTest {
    private static Session session(int port) {
        return new Session(new InetSocketAddress("127.0.0.1", port), null);
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
}
