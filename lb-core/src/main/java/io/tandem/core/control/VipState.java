package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.VipConfig;
import io.tandem.core.proxy.TcpListener;
import io.tandem.core.vip.Vip;
import java.util.LinkedHashMap;
import java.util.Map;

/** The control loop's record of one VIP. Confined to the control loop thread. */
final class VipState {
    VipConfig config;
    final Vip vip;
    TcpListener listener;
    final Map<HostPort, BackendState> backends = new LinkedHashMap<>();
    long poolGeneration;

    VipState(VipConfig config, Vip vip) {
        this.config = requireNonNull(config, "config");
        this.vip = requireNonNull(vip, "vip");
    }
}
