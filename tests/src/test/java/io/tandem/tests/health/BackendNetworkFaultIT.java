package io.tandem.tests.health;

import io.tandem.tests.fault.FaultKind;
import io.tandem.tests.support.LoadLoop;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A backend whose port drops every packet (SYN blackhole) or answers with a TCP reset, under live
 * client load: it leaves rotation, and no connection started after the fault fails (a connect
 * timeout or refusal is retried on another backend before any client byte is lost).
 */
class BackendNetworkFaultIT extends BackendFaultScenarios {
    @ParameterizedTest(name = "[{0}]")
    @MethodSource("via")
    void synBlackholedBackendIsEjectedAndConnectionsAfterTheFaultRetryElsewhere(String via) throws Exception {
        Setup s = setup(via, FaultKind.BLACKHOLE, """
                    health_check: {type: tcp, interval: 300ms, timeout: 200ms, fall: 2, rise: 2}
                """);
        Measured m = faultUnderLoad(s, "iptables-drop", LoadLoop.Options.defaults(), null);
        assertConnectionsAfterTheFaultDidNotFail(m);
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("via")
    void resettingBackendIsEjectedAndConnectionsAfterTheFaultRetryElsewhere(String via) throws Exception {
        Setup s = setup(via, FaultKind.RESET, """
                    health_check: {type: tcp, interval: 300ms, timeout: 250ms, fall: 2, rise: 2}
                """);
        Measured m = faultUnderLoad(s, "iptables-reset", LoadLoop.Options.defaults(), null);
        assertConnectionsAfterTheFaultDidNotFail(m);
    }
}
