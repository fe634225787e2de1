package io.tandem.core.tcp;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.core.testing.ProxyFixture.TransportKind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the proxy's per-transport integration tests share: the transport of this instance
 * (skipped where epoll is unavailable) and the fixtures a test opened, closed after it in
 * reverse order. Subclasses carry {@code @ParameterizedClass @EnumSource(TransportKind.class)}.
 */
abstract class PerTransportIT {
    final TransportKind transport;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    PerTransportIT(TransportKind transport) {
        this.transport = transport;
    }

    @BeforeEach
    void requireTransport() {
        assumeTrue(transport.available(), "epoll unavailable");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }
}
