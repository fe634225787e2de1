package io.tandem.core.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.tandem.config.HostPort;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.control.NodeView;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Talks to a node's admin API from the CLI ({@code tandem status}, drain, reload). Blocking:
 * meant for a command-line process or a virtual thread, never an event loop.
 */
public final class AdminClient implements AutoCloseable {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /**
     * Longer than the server's own wait on the control loop, so its 503 wins over our timeout.
     * From the inlined constant, not {@code AdminRouter.CONTROL_TIMEOUT}: touching that would
     * initialize the router class and start logback in every CLI command (~0.2-0.8 s of start-up).
     */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(AdminRouter.CONTROL_TIMEOUT_SECONDS + 5);

    private final HttpClient http;

    public AdminClient() {
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .build();
    }

    /**
     * {@code GET /api/node}.
     *
     * @throws AdminApiException when the node cannot be reached or answers anything but 200
     */
    public NodeView fetchNode(HostPort admin, Optional<String> token) {
        HttpResponse<String> r = send(admin, token, "GET", "/api/node");
        expect(admin, r, 200);
        return parse(admin, r, new TypeReference<>() { });
    }

    /**
     * {@code GET /api/posture}.
     *
     * @throws AdminApiException when the node cannot be reached or answers anything but 200 (a node
     *         from before the posture report answers 404)
     */
    public io.tandem.core.control.PostureReport fetchPosture(HostPort admin, Optional<String> token) {
        HttpResponse<String> r = send(admin, token, "GET", "/api/posture");
        expect(admin, r, 200);
        return parse(admin, r, new TypeReference<>() { });
    }

    /**
     * {@code GET /api/ha}: the HA group as this node sees it; empty when the node has no
     * {@code ha} section (404).
     *
     * @throws AdminApiException when the node cannot be reached or answers anything but 200/404
     */
    public Optional<io.tandem.ha.HaView> fetchHa(HostPort admin, Optional<String> token) {
        HttpResponse<String> r = send(admin, token, "GET", "/api/ha");
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        expect(admin, r, 200);
        return Optional.of(parse(admin, r, new TypeReference<io.tandem.ha.HaView>() { }));
    }

    /**
     * The {@code announce} member of {@code GET /api/ha} in BGP mode (what BIRD exports, its
     * sessions); empty without an {@code ha} section, in ARP mode, or from a node too old to say.
     *
     * @throws AdminApiException when the node cannot be reached or answers anything but 200/404
     */
    public Optional<io.tandem.ha.announce.Announcer.AnnounceView> fetchAnnounce(HostPort admin,
                                                                               Optional<String> token) {
        HttpResponse<String> r = send(admin, token, "GET", "/api/ha");
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        expect(admin, r, 200);
        com.fasterxml.jackson.databind.JsonNode a = parse(admin, r,
                new TypeReference<com.fasterxml.jackson.databind.JsonNode>() { }).path("announce");
        if (!"bgp".equals(a.path("mode").asText())) {
            return Optional.empty();
        }
        try {
            return Optional.of(AdminJson.MAPPER.treeToValue(a, io.tandem.ha.announce.Announcer.AnnounceView.class));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return Optional.empty();
        }
    }

    /**
     * {@code POST /api/reload}. A rejected config is not an exception: the outcome lists the errors.
     *
     * @throws AdminApiException when the node cannot be reached or answers other than 200/422
     */
    public ReloadOutcome reload(HostPort admin, Optional<String> token) {
        HttpResponse<String> r = send(admin, token, "POST", "/api/reload");
        if (r.statusCode() != 422) {
            expect(admin, r, 200);
        }
        return parse(admin, r, new TypeReference<>() { });
    }

    /**
     * {@code POST /api/vips/{vip}/backends/{backend}/{action}}.
     *
     * @param action {@code drain}, {@code disable} or {@code enable}
     * @throws AdminApiException when unreachable, or the VIP/backend is unknown (404), or any non-200
     */
    public NodeView.BackendView backendAction(HostPort admin, Optional<String> token, String vip, String backend,
                                              String action) {
        String path = "/api/vips/" + encode(vip) + "/backends/" + encode(backend) + "/"
                + encode(action.toLowerCase(Locale.ROOT));
        HttpResponse<String> r = send(admin, token, "POST", path);
        expect(admin, r, 200);
        return parse(admin, r, new TypeReference<>() { });
    }

    /**
     * {@code POST /api/vips/{vip}/backends/{backend}/weight?value=N}.
     *
     * @throws AdminApiException when unreachable, or the node refuses (400, 404, ...: the message
     *         carries its reason)
     */
    public NodeView.BackendView setWeight(HostPort admin, Optional<String> token, String vip, String backend,
                                          int weight) {
        HttpResponse<String> r = send(admin, token, "POST", "/api/vips/" + encode(vip) + "/backends/"
                + encode(backend) + "/weight?value=" + weight);
        expect(admin, r, 200);
        return parse(admin, r, new TypeReference<>() { });
    }

    /**
     * {@code POST /api/vips/{vip}/backends/{backend}?weight=&region=&zone=&priority=}; null
     * parameters are left out (the node's defaults: weight 1, priority 0, no locality).
     *
     * @throws AdminApiException as {@link #setWeight}
     */
    public NodeView.BackendView addBackend(HostPort admin, Optional<String> token, String vip, String backend,
                                           Integer weight, String region, String zone, Integer priority) {
        StringBuilder q = new StringBuilder();
        java.util.function.BiConsumer<String, Object> param = (k, v) -> {
            if (v != null) {
                q.append(q.isEmpty() ? '?' : '&').append(k).append('=').append(encode(String.valueOf(v)));
            }
        };
        param.accept("weight", weight);
        param.accept("region", region);
        param.accept("zone", zone);
        param.accept("priority", priority);
        HttpResponse<String> r = send(admin, token, "POST", "/api/vips/" + encode(vip) + "/backends/"
                + encode(backend) + q);
        expect(admin, r, 201);
        return parse(admin, r, new TypeReference<>() { });
    }

    /**
     * {@code DELETE /api/vips/{vip}/backends/{backend}}.
     *
     * @return the backend as it was just before
     * @throws AdminApiException as {@link #setWeight}
     */
    public NodeView.BackendView removeBackend(HostPort admin, Optional<String> token, String vip, String backend) {
        HttpResponse<String> r = send(admin, token, "DELETE", "/api/vips/" + encode(vip) + "/backends/"
                + encode(backend));
        expect(admin, r, 200);
        return parse(admin, r, new TypeReference<>() { });
    }

    /**
     * {@code GET /api/vips/{vip}/connections} (of one backend when {@code backend} is not null).
     *
     * @throws AdminApiException as {@link #setWeight}
     */
    public io.tandem.core.control.NodeControl.ConnectionPage connections(HostPort admin, Optional<String> token,
                                                                         String vip, String backend, int limit,
                                                                         long after) {
        String path = "/api/vips/" + encode(vip) + (backend == null ? "" : "/backends/" + encode(backend))
                + "/connections?limit=" + limit + (after > 0 ? "&after=" + after : "");
        HttpResponse<String> r = send(admin, token, "GET", path);
        expect(admin, r, 200);
        return parse(admin, r, new TypeReference<>() { });
    }

    @Override
    public void close() {
        http.close();
    }

    private HttpResponse<String> send(HostPort admin, Optional<String> token, String method, String path) {
        requireNonNull(admin, "admin");
        requireNonNull(token, "token");
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + admin + path))
                .timeout(REQUEST_TIMEOUT)
                .header("Accept", "application/json")
                .method(method, HttpRequest.BodyPublishers.noBody());
        token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (HttpConnectTimeoutException e) {
            throw unreachable(admin, "connect timed out after " + CONNECT_TIMEOUT.toSeconds() + "s", e);
        } catch (HttpTimeoutException e) {
            throw unreachable(admin, "no answer within " + REQUEST_TIMEOUT.toSeconds() + "s", e);
        } catch (ConnectException e) {
            throw unreachable(admin, "connection refused — is the node running?", e);
        } catch (IOException e) {
            if (causedBy(e, ConnectException.class)) {
                throw unreachable(admin, "connection refused — is the node running?", e);
            }
            throw unreachable(admin, String.valueOf(e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unreachable(admin, "interrupted", e);
        }
    }

    private static void expect(HostPort admin, HttpResponse<String> r, int status) {
        if (r.statusCode() == status) {
            return;
        }
        String reason = r.body().strip();
        try {
            Map<String, String> err = AdminJson.MAPPER.readValue(r.body(), new TypeReference<>() { });
            if (err.get("error") != null) {
                reason = err.get("error");
            }
        } catch (JsonProcessingException | RuntimeException notJson) {
            // keep the raw body
        }
        String hint = r.statusCode() == 401 ? " — is the admin token right?" : "";
        throw new AdminApiException("admin API at " + admin + " answered " + r.statusCode() + ": " + reason + hint,
                r.statusCode(), null);
    }

    private static <T> T parse(HostPort admin, HttpResponse<String> r, TypeReference<T> type) {
        try {
            return AdminJson.MAPPER.readValue(r.body(), type);
        } catch (JsonProcessingException e) {
            throw new AdminApiException("admin API at " + admin + " sent JSON this client cannot read: "
                    + e.getOriginalMessage(), r.statusCode(), e);
        }
    }

    private static AdminApiException unreachable(HostPort admin, String why, Throwable cause) {
        return new AdminApiException("cannot reach admin API at " + admin + ": " + why, 0, cause);
    }

    private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    private static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
