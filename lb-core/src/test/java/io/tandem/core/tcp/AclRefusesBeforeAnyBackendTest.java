package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.AccessControl;
import io.tandem.config.Cidr;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.testing.LeakWatcher;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A VIP's {@code acl} at accept: a refused client is reset before any backend is contacted and
 * never counted as a connection; an admitted one is served; a new snapshot with another list
 * applies to new connections only.
 */
@ExtendWith(LeakWatcher.class)
class AclRefusesBeforeAnyBackendTest {
    private static final InetSocketAddress INSIDE = new InetSocketAddress("198.51.100.7", 51000);
    private static final InetSocketAddress OUTSIDE = new InetSocketAddress("203.0.113.99", 51001);

    private static AccessControl allowOnly(String prefix) {
        return new AccessControl(List.of(Cidr.parse(prefix).cidr().orElseThrow()), List.of());
    }

    @Test
    void aRefusedClientIsResetAndNoBackendHearsOfIt() {
        try (TcpHarness h = TcpHarness.builder().acl(allowOnly("198.51.100.0/24")).start()) {
            MemorySocket refused = h.accept(OUTSIDE);
            assertThat(refused.reset).as("refused with a reset").isTrue();
            assertThat(h.loop.opened).as("no backend connect").isEmpty();
            assertThat(h.vip.stats().aclRefused.sum()).isEqualTo(1);
            assertThat(h.vip.stats().totalConnections.sum()).as("not a connection").isZero();
            h.assertReleased();

            MemorySocket admitted = h.accept(INSIDE);
            assertThat(admitted.reset || admitted.closed).isFalse();
            assertThat(h.loop.opened).as("the admitted client's backend connect").hasSize(1);
            assertThat(h.vip.stats().aclRefused.sum()).isEqualTo(1);
        }
    }

    @Test
    void aNewListAppliesToNewConnectionsOnly() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket before = h.accept(OUTSIDE);
            h.backendSocket(0).accept();
            BackendPool open = h.vip.pool();
            AccessControl acl = allowOnly("198.51.100.0/24");
            h.vip.publish(new BackendPool(withAcl(open.config(), acl), open.backends(), open.policy(), false, 2));

            MemorySocket after = h.accept(OUTSIDE);
            assertThat(after.reset).as("a new connection meets the new list").isTrue();
            assertThat(before.reset || before.closed).as("the established one is left alone").isFalse();
            assertThat(h.vip.stats().active.get()).isEqualTo(1);
        }
    }

    static io.tandem.config.VipConfig withAcl(io.tandem.config.VipConfig v, AccessControl acl) {
        return new io.tandem.config.VipConfig(v.name(), v.listen(), v.protocol(), v.policy(), v.backends(), v.limits(),
                v.timeouts(), v.retries(), v.proxyProtocol(), v.relay(), v.healthCheck(), v.health(), v.service(),
                v.udp(), v.locality(), acl);
    }
}
