package io.tandem.tests.ha;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.tests.netns.Topology;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The lifecycle every HA system test class shares: one {@link PairSystem} (namespaces,
 * ZooKeeper, backend) per class, skipped with the reason when the machine cannot build it, and
 * after each scenario its processes stopped, their output kept under {@code target/hasys/} and
 * the network reset.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class PairSystemTest {
    PairSystem pair;
    Topology net;

    @BeforeAll
    void buildTopology() throws Exception {
        String why = PairSystem.unavailableReason();
        assumeTrue(why == null, () -> "HA system test skipped: " + why);
        pair = PairSystem.create();
        net = pair.net();
    }

    @AfterAll
    void removeTopology() throws Exception {
        if (pair != null) {
            pair.close();
        }
    }

    @AfterEach
    void stopNodesAndClients(TestInfo test) throws Exception {
        pair.afterEach(test.getTestMethod().map(java.lang.reflect.Method::getName).orElse("test"));
    }
}
