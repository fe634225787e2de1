package io.tandem.health.check;

import io.tandem.config.HealthCheckSpec;
import java.net.InetSocketAddress;

/** What makes two watches the same check: the same address and the same spec (records compare by value). */
record CheckKey(InetSocketAddress target, HealthCheckSpec spec) {
}
