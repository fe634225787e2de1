package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backends;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

class MaglevRejectsBadTableSizeTest {

    @Test
    void tableSizeMustBeAPrimeNoSmallerThanTheBackendCount() {
        assertThatIllegalArgumentException().isThrownBy(() -> MaglevPolicy.of(backends(3), 100))
                .withMessage("tableSize: 100 (expected a prime in 3..16777216)");
        assertThatIllegalArgumentException().isThrownBy(() -> MaglevPolicy.of(backends(5), 3))
                .withMessageStartingWith("tableSize: 3 ");
    }
}
