package io.tandem.discovery.marathon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MarathonSettingsTest {

    private static final List<URI> URLS = List.of(URI.create("http://m1:8080"), URI.create("https://m2:8443/marathon"));

    @Test
    void defaultsAreTheDocumentedOnes() {
        MarathonSettings s = MarathonSettings.of(URLS);
        assertThat(s.silenceTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.resyncInterval()).isEqualTo(Duration.ofMinutes(5));
        assertThat(s.backoffInitial()).isEqualTo(Duration.ofSeconds(1));
        assertThat(s.backoffMax()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.namedVipBlock()).isEqualTo("198.18.128.0/17");
        assertThat(s.unreachable()).isEqualTo(MarathonSettings.UnreachablePolicy.KEEP);
        assertThat(s.protocols()).hasSize(2);
        assertThat(s.auth()).isEmpty();
    }

    @Test
    void everyProblemIsReportedAtOnceAsNameValueExpected() {
        assertThatThrownBy(() -> MarathonSettings.builder(List.of(URI.create("ftp://x"), URI.create("http://m?x=1")))
                .silenceTimeout(Duration.ZERO)
                .backoff(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMinutes(1))
                .protocols(Set.of())
                .namedVipBlock("10.0.0.1/8")
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("urls[0]: ftp://x (expected an http or https base URL without query)")
                .hasMessageContaining("urls[1]: http://m?x=1 (expected")
                .hasMessageContaining("silenceTimeout: PT0S (expected > 0)")
                .hasMessageContaining("backoffMax: PT1S (expected >= backoffInitial PT5S)")
                .hasMessageContaining("protocols: [] (expected tcp, udp or both)")
                .hasMessageContaining("namedVipBlock: \"10.0.0.1/8\" (expected host bits to be zero)");
    }

    @Test
    void noUrlsIsRejected() {
        assertThatThrownBy(() -> MarathonSettings.of(List.of()))
                .hasMessageContaining("urls: [] (expected at least one Marathon URL)");
    }

    @Test
    void credentialsAreNeverPrinted() {
        MarathonSettings s = MarathonSettings.builder(URLS).auth(new MarathonAuth.Basic("ops", "s3cret")).build();
        assertThat(s.toString()).doesNotContain("s3cret").contains("ops");
        assertThat(new MarathonAuth.Bearer("tok-123").toString()).doesNotContain("tok-123");
        assertThat(new MarathonAuth.Basic("ops", "s3cret").headerValue()).isEqualTo("Basic b3BzOnMzY3JldA==");
        assertThat(new MarathonAuth.Bearer("tok-123").headerValue()).isEqualTo("Bearer tok-123");
    }

    @Test
    void basicUserWithColonIsRejected() {
        assertThatThrownBy(() -> new MarathonAuth.Basic("a:b", "p")).hasMessageStartingWith("user: \"a:b\" (expected");
    }
}
