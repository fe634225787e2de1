package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A run-time change's audit line carries client-supplied values (the VIP's name from the path, a
 * zone from the query): a plain one is logged as it is, anything else quoted with its control
 * characters shown as '?', so no request can forge a second log line or another key.
 */
class AuditLogValueTest {
    @Test
    void plainValuesStayAndOthersAreQuotedWithoutControlCharacters() {
        assertThat(AdminRouter.logValue("web")).isEqualTo("web");
        assertThat(AdminRouter.logValue("eu-west-1a")).isEqualTo("eu-west-1a");
        assertThat(AdminRouter.logValue("[::1]:80")).isEqualTo("[::1]:80");
        assertThat(AdminRouter.logValue("a b")).isEqualTo("\"a b\"");
        assertThat(AdminRouter.logValue("x\nadmin action=reload status=200")).isEqualTo(
                "\"x?admin action=reload status=200\"");
        assertThat(AdminRouter.logValue("say \"hi\"")).isEqualTo("\"say 'hi'\"");
        assertThat(AdminRouter.logValue("")).isEqualTo("\"\"");
    }
}
