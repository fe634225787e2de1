package io.tandem.tests.support;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** Reads a node's view of one VIP through the admin API ({@code GET /api/vips/NAME}). */
public final class AdminClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One flag change of a backend, as the admin API lists it. */
    public record Transition(Instant at, String flag, boolean set, String reason) {
    }

    /** A backend as the node sees it. */
    public record BackendState(String address, Set<String> flags, boolean eligible, List<Transition> transitions) {
        /** The first transition at or after {@code since} that set one of {@code flags}. */
        public Optional<Transition> firstSet(Instant since, Set<String> flags) {
            return transitions.stream().filter(t -> t.set() && flags.contains(t.flag()) && !t.at().isBefore(since))
                    .min((a, b) -> a.at().compareTo(b.at()));
        }

        /** The first transition at or after {@code since} that cleared {@code flag}. */
        public Optional<Transition> firstCleared(Instant since, String flag) {
            return transitions.stream().filter(t -> !t.set() && flag.equals(t.flag()) && !t.at().isBefore(since))
                    .min((a, b) -> a.at().compareTo(b.at()));
        }
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final URI base;

    public AdminClient(int adminPort) {
        this.base = URI.create("http://127.0.0.1:" + adminPort);
    }

    /** The VipView as JSON. */
    public JsonNode vip(String name) throws IOException {
        requireNonNull(name, "name");
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/api/vips/" + name))
                    .timeout(Duration.ofSeconds(3)).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException("GET /api/vips/" + name + ": " + r.statusCode() + " " + r.body());
            }
            return JSON.readTree(r.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    public BackendState backend(String vip, String address) throws IOException {
        for (JsonNode b : vip(vip).path("backends")) {
            if (address.equals(b.path("address").asText())) {
                Set<String> flags = new TreeSet<>();
                b.path("flags").forEach(f -> flags.add(f.asText()));
                List<Transition> ts = new ArrayList<>();
                for (JsonNode t : b.path("recentTransitions")) {
                    ts.add(new Transition(instant(t.path("at")), t.path("flag").asText(), t.path("set").asBoolean(),
                            t.path("reason").asText()));
                }
                return new BackendState(address, flags, b.path("eligible").asBoolean(), ts);
            }
        }
        throw new IOException("no backend " + address + " in VIP " + vip);
    }

    /** All backends of the VIP eligible and flag-free. */
    public boolean allEligible(String vip) throws IOException {
        JsonNode backends = vip(vip).path("backends");
        if (!backends.isArray() || backends.isEmpty()) {
            return false;
        }
        for (JsonNode b : backends) {
            if (!b.path("eligible").asBoolean() || !b.path("flags").isEmpty()) {
                return false;
            }
        }
        return true;
    }

    /** ISO-8601 text, or epoch seconds with a fraction (Jackson's default for Instant). */
    private static Instant instant(JsonNode n) {
        if (n.isNumber()) {
            BigDecimal s = n.decimalValue();
            long secs = s.longValue();
            return Instant.ofEpochSecond(secs, s.subtract(BigDecimal.valueOf(secs)).movePointRight(9).longValue());
        }
        return Instant.parse(n.asText());
    }

    @Override
    public void close() {
        http.close();
    }
}
