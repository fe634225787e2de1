package io.tandem.core;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

/**
 * The data path (native calls, transport choice, pools, policies, VIPs, the TCP state machine,
 * the UDP sessions) imports nothing from the node runtime (control loop, admin API, metrics,
 * node, CLI, log formatting): the runtime drives the data path through the data path's own
 * types (`Vip`, `ConnectionEvents`, listeners), never the other way round. Read from the compiled
 * classes, so a fully qualified name in the middle of a method counts as much as an import.
 */
class DataPathBoundaryTest {
    static final String[] DATA_PATH = {
        "io.tandem.sys..", "io.tandem.core.transport..", "io.tandem.core.pool..", "io.tandem.core.policy..",
        "io.tandem.core.vip..", "io.tandem.core.tcp..", "io.tandem.core.udp..",
    };
    static final String[] NODE_RUNTIME = {
        "io.tandem.core.control..", "io.tandem.core.admin..", "io.tandem.core.metrics..", "io.tandem.core.node..",
        "io.tandem.core.cli..", "io.tandem.core.logging..",
    };

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.tandem.core", "io.tandem.sys");

    @Test
    void theDataPathImportsNothingFromTheNodeRuntime() {
        ArchRule rule = noClasses().that().resideInAnyPackage(DATA_PATH)
                .should().dependOnClassesThat().resideInAnyPackage(NODE_RUNTIME)
                .because("the node runtime drives the data path, never the other way round (docs/data-path.md)");
        rule.check(MAIN);
    }

    @Test
    void theRuleSeesEveryDataPathPackage() {
        // A rule over no classes passes whatever they import: make sure each package was read.
        for (String p : DATA_PATH) {
            String name = p.substring(0, p.length() - 2);
            assertThat(MAIN.stream().anyMatch(c -> c.getPackageName().startsWith(name)))
                    .as("classes of %s imported", name).isTrue();
        }
    }
}
