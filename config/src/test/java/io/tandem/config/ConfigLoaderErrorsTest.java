package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every bad file yields exactly these messages, all of them, in document order. */
class ConfigLoaderErrorsTest {

    /** A valid VIP to append keys to, so each case shows only the problem it is about. */
    private static final String VIP = """
            vips:
              - name: web
                listen: 127.0.0.1:8080
                backends: [127.0.0.1:9001]
            """;

    static Stream<Arguments> badFiles() {
        return Stream.of(
                bad("several errors in one file are all reported, top to bottom", """
                        runtime:
                          event_loops: many
                          transprt: epoll
                        vips:
                          - name: web
                            listen: 127.0.0.1:70000
                            retries: "three"
                            backends: []
                        """,
                        "runtime.event_loops: \"many\" (expected an integer 0..256, 0 = one per core)",
                        "runtime.transprt: unknown key (expected one of event_loops, transport, drain_timeout, dns;"
                                + " did you mean \"transport\"?)",
                        "vips[0].listen: \"127.0.0.1:70000\" (expected a port 1..65535)",
                        "vips[0].retries: \"three\" (expected an integer 0..10)",
                        "vips[0].backends: [] (expected at least one backend)"),
                bad("unknown key gets a did-you-mean", VIP + "    polcy: maglev\n",
                        "vips[0].polcy: unknown key (expected one of name, listen, protocol, policy, retries,"
                                + " proxy_protocol, relay, service, backends, limits, timeouts, health_check, outlier_detection, panic_threshold, slow_start, close_on_backend_down, udp, locality, acl, hash_balance_factor, proxy_protocol_in, agent_check, sni, source;"
                                + " did you mean \"policy\"?)"),
                bad("unknown key far from every allowed key gets no suggestion", VIP + "    colour: blue\n",
                        "vips[0].colour: unknown key (expected one of name, listen, protocol, policy, retries,"
                                + " proxy_protocol, relay, service, backends, limits, timeouts, health_check, outlier_detection, panic_threshold, slow_start, close_on_backend_down, udp, locality, acl, hash_balance_factor, proxy_protocol_in, agent_check, sni, source)"),
                bad("unknown root key", "vip: []\n",
                        "vip: unknown key (expected one of runtime, admin, logging, discovery, ha, node, locality, vips; did you mean \"vips\"?)",
                        "vips: missing (expected a list of VIPs; use [] for none)"),
                bad("listen port out of range", """
                        vips:
                          - name: web
                            listen: 127.0.0.1:0
                            backends: [127.0.0.1:9001]
                        """,
                        "vips[0].listen: \"127.0.0.1:0\" (expected a port 1..65535)"),
                bad("health check port out of range", VIP + "    health_check: {type: tcp, port: 70000}\n",
                        "vips[0].health_check.port: 70000 (expected an integer 1..65535)"),
                bad("a quoted number is named as a string", VIP + "    retries: \"3\"\n",
                        "vips[0].retries: \"3\" (expected an integer 0..10, without quotes)"),
                bad("duration without a unit", VIP + "    timeouts: {connect: 5}\n",
                        "vips[0].timeouts.connect: 5 (expected a duration such as 250ms, 2s, 1m)"),
                bad("duration with a bad unit", VIP + "    timeouts: {idle: 5 min}\n",
                        "vips[0].timeouts.idle: \"5 min\" (expected a duration such as 250ms, 2s, 1m)"),
                bad("duration out of range", VIP + "    timeouts: {connect: 0ms, idle: 8d, user_timeout: 2h}\n",
                        "vips[0].timeouts.connect: \"0ms\" (expected a duration 1ms..1m)",
                        "vips[0].timeouts.idle: \"8d\" (expected a duration 0..7d, 0 = off)",
                        "vips[0].timeouts.user_timeout: \"2h\" (expected a duration 0..1h, 0 = kernel default)"),
                bad("duplicate VIP names", """
                        vips:
                          - {name: web, listen: 127.0.0.1:8080, backends: [127.0.0.1:9001]}
                          - {name: api, listen: 127.0.0.1:8081, backends: [127.0.0.1:9001]}
                          - {name: web, listen: 127.0.0.1:8082, backends: [127.0.0.1:9001]}
                        """,
                        "vips[2].name: \"web\" (expected a unique VIP name; vips[0] has the same)"),
                bad("duplicate listen address and protocol, IPv6 spelled two ways", """
                        vips:
                          - {name: a, listen: "[::1]:8080", backends: [127.0.0.1:9001]}
                          - {name: b, listen: "[0:0:0:0:0:0:0:1]:8080", protocol: tcp, backends: [127.0.0.1:9001]}
                        """,
                        "vips[1].listen: \"[0:0:0:0:0:0:0:1]:8080\" (expected a unique listen address and protocol;"
                                + " vips[0] also listens on tcp [::1]:8080)"),
                bad("non-loopback admin without a token", "admin:\n  listen: 0.0.0.0:9090\nvips: []\n",
                        "admin.token: missing (expected a bearer token because admin.listen 0.0.0.0:9090"
                                + " is not a loopback address)"),
                bad("admin token that YAML reads as a number", "admin:\n  listen: 10.0.0.1:9090\n  token: 0123\n"
                                + "vips: []\n",
                        "admin.token: \"***\" (expected a bearer token of 16..1024 visible ASCII characters as a string;"
                                + " put it in quotes)"),
                bad("udp VIP with PROXY protocol and splice", VIP + "    protocol: udp\n    proxy_protocol: v2\n"
                                + "    relay: splice\n",
                        "vips[0].proxy_protocol: \"v2\" (expected none on a udp VIP; PROXY protocol is TCP only)",
                        "vips[0].relay: \"splice\" (expected auto or copy on a udp VIP; splice is TCP only)"),
                bad("bad enum value lists the spellings and suggests the closest", VIP + "    policy: round-robbin\n",
                        "vips[0].policy: \"round-robbin\" (expected one of round-robin, weighted-round-robin,"
                                + " least-connections, power-of-two, maglev; did you mean \"round-robin\"?)"),
                bad("bad runtime transport", "runtime: {transport: io_uring}\nvips: []\n",
                        "runtime.transport: \"io_uring\" (expected one of auto, epoll, nio)"),
                bad("empty and missing backends", """
                        vips:
                          - {name: a, listen: 127.0.0.1:8080, backends: []}
                          - {name: b, listen: 127.0.0.1:8081}
                        """,
                        "vips[0].backends: [] (expected at least one backend)",
                        "vips[1].backends: missing (expected a list of backends, each host:port or a mapping"
                                + " with address and weight)"),
                bad("weight out of range and duplicate backend", """
                        vips:
                          - name: web
                            listen: 127.0.0.1:8080
                            backends:
                              - 127.0.0.1:9001
                              - {address: 127.0.0.1:9002, weight: 1001}
                              - {address: 127.0.0.1:9001, weight: 0}
                        """,
                        "vips[0].backends[1].weight: 1001 (expected an integer 1..1000)",
                        "vips[0].backends[2].address: \"127.0.0.1:9001\" (expected a unique backend address;"
                                + " vips[0].backends[0] has the same)",
                        "vips[0].backends[2].weight: 0 (expected an integer 1..1000)"),
                bad("backend forms that are not addresses", """
                        vips:
                          - name: web
                            listen: 127.0.0.1:8080
                            backends: [9001, "::1:80", "a..b:80", "10.0.0.256:80", {weight: 2}]
                        """,
                        "vips[0].backends[0]: 9001 (expected host:port or a mapping with address and weight)",
                        "vips[0].backends[1]: \"::1:80\" (expected an IPv6 address in brackets, e.g. [::1]:8080)",
                        "vips[0].backends[2]: \"a..b:80\" (expected a host name (letters, digits, '-', '.')"
                                + " or an IP address)",
                        "vips[0].backends[3]: \"10.0.0.256:80\" (expected a valid IPv4 address or a host name)",
                        "vips[0].backends[4].address: missing (expected host:port, e.g. 10.0.0.5:8080)"),
                bad("listen must be an IP literal", """
                        vips:
                          - {name: web, listen: localhost:8080, backends: [127.0.0.1:9001]}
                          - {name: api, listen: 8081, backends: [127.0.0.1:9001]}
                        """,
                        "vips[0].listen: \"localhost:8080\" (expected an IP address to listen on, such as"
                                + " 127.0.0.1, 0.0.0.0, [::1] or [::])",
                        "vips[1].listen: 8081 (expected host:port, e.g. 127.0.0.1:8080; put it in quotes)"),
                bad("bad VIP name and missing required keys", "vips:\n  - name: Web Front\n  - {}\n",
                        "vips[0].name: \"Web Front\" (expected a VIP name matching [a-z0-9][a-z0-9._-]{0,62})",
                        "vips[0].listen: missing (expected an address to listen on, e.g. 127.0.0.1:8080)",
                        "vips[0].backends: missing (expected a list of backends, each host:port or a mapping"
                                + " with address and weight)",
                        "vips[1].name: missing (expected a VIP name matching [a-z0-9][a-z0-9._-]{0,62})",
                        "vips[1].listen: missing (expected an address to listen on, e.g. 127.0.0.1:8080)",
                        "vips[1].backends: missing (expected a list of backends, each host:port or a mapping"
                                + " with address and weight)"),
                bad("health check key of another check type", VIP + "    health_check: {type: tcp, path: /x}\n",
                        "vips[0].health_check.path: unknown key (expected one of type, port, interval, timeout,"
                                + " rise, fall, jitter, fast_interval, down_interval, initial_state, watch; path is for http checks)"),
                bad("health check without a type", VIP + "    health_check: {interval: 1s}\n",
                        "vips[0].health_check.type: missing (expected one of tcp, http, send-expect, udp)"),
                bad("misspelt check type is reported once, its keys are not blamed",
                        VIP + "    health_check: {type: htp, path: /}\n",
                        "vips[0].health_check.type: \"htp\" (expected one of tcp, http, send-expect, udp;"
                                + " did you mean \"http\"?)"),
                bad("health check timing out of range", VIP + """
                            health_check: {type: tcp, interval: 5ms, rise: 0, jitter: 0.7, intervall: 1s}
                        """,
                        "vips[0].health_check.interval: \"5ms\" (expected a duration 10ms..1h)",
                        "vips[0].health_check.rise: 0 (expected an integer 1..100)",
                        "vips[0].health_check.jitter: 0.7 (expected a number 0..0.5)",
                        "vips[0].health_check.intervall: unknown key (expected one of type, port, interval,"
                                + " timeout, rise, fall, jitter, fast_interval, down_interval, initial_state, watch;"
                                + " did you mean \"interval\"?)"),
                bad("http check values", VIP + """
                            health_check: {type: http, path: healthz, method: PUT, expect_status: 400-300}
                        """,
                        "vips[0].health_check.path: \"healthz\" (expected a request path starting with /"
                                + " and without spaces)",
                        "vips[0].health_check.method: \"PUT\" (expected one of GET, HEAD, POST, OPTIONS)",
                        "vips[0].health_check.expect_status: \"400-300\" (expected a status such as 200 or a range"
                                + " such as 200-399, within 100..599)"),
                bad("send-expect without expect, with a bad escape", VIP + """
                            health_check: {type: send-expect, send: 'PING\\q'}
                        """,
                        "vips[0].health_check.send: \"PING\\\\q\" (expected text with escapes"
                                + " \\r \\n \\t \\\\ \\xNN)",
                        "vips[0].health_check.expect: missing (expected non-empty text with escapes"
                                + " \\r \\n \\t \\\\ \\xNN)"),
                bad("send-expect regex that does not compile", VIP + """
                            health_check: {type: send-expect, regex: true, expect: "+OK ("}
                        """,
                        "vips[0].health_check.expect: \"+OK (\" (expected a valid regular expression;"
                                + " Dangling meta character '+' at index 0)"),
                bad("udp check without send", VIP + "    health_check: {type: udp}\n",
                        "vips[0].health_check.send: missing (expected the datagram to send, text with escapes"
                                + " \\r \\n \\t \\\\ \\xNN)"),
                bad("a section that is not a mapping", "runtime: fast\nvips: []\n",
                        "runtime: \"fast\" (expected a mapping of settings)"),
                bad("YAML syntax error names line and column", """
                        vips:
                          - name: web
                            listen: 127.0.0.1:8080
                             backends: [127.0.0.1:9001]
                        """,
                        "test.yaml:4:14: mapping values are not allowed here (expected valid YAML)"),
                bad("YAML duplicate key", "vips: []\nvips: []\n",
                        "test.yaml:2:5: duplicate key \"vips\" (expected each key once per mapping)"),
                bad("YAML alias is refused rather than misread", "runtime: {event_loops: &n 2}\nvips: *n\n",
                        "test.yaml:2:7: alias *n (expected YAML without anchors and aliases; write the values out)"),
                bad("empty document", "# nothing here\n",
                        "test.yaml: an empty document (expected a mapping with a vips list)"));
    }

    private static Arguments bad(String what, String yaml, String... errors) {
        return Arguments.of(what, yaml, List.of(errors));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void badFileYieldsExactlyTheseErrors(String what, String yaml, List<String> expected) {
        ConfigResult result = ConfigLoader.parse(yaml, "test.yaml");

        assertThat(result).isInstanceOf(ConfigResult.Invalid.class);
        List<String> errors = ((ConfigResult.Invalid) result).errors().stream().map(ConfigError::toString).toList();
        assertThat(errors).containsExactlyElementsOf(expected);
    }
}
