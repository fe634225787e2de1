package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The blocking HTTP side of the Marathon source, on the JDK client with virtual threads.
 * Redirects are never followed automatically: exactly one (301/302/303/307/308, a standby
 * pointing at the leader) is followed by hand with the same headers, auth included; a second one
 * is an error. HTTP/1.1 is forced: the event stream is a raw {@code Connection: close} body, and
 * an h2c upgrade offer would only add headers a proxy in between might mangle.
 */
final class MarathonHttp implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MarathonSource.class);

    /** Exactly one value: Jetty compares each Accept value with equals(), anything else is 405. */
    static final String EVENT_STREAM = "text/event-stream";

    static final List<String> EVENT_TYPES = List.of(
            "event_stream_attached", "status_update_event", "health_status_changed_event",
            "instance_health_changed_event", "api_post_event", "app_terminated_event",
            "deployment_success", "deployment_failed");

    static final String EVENTS_QUERY;

    static {
        StringBuilder q = new StringBuilder();
        for (String t : EVENT_TYPES) {
            q.append("event_type=").append(t).append('&');
        }
        EVENTS_QUERY = q.append("plan-format=light").toString();
    }

    /** An attached event stream and the base URL that answered it (the leader after a redirect). */
    record OpenStream(InputStream body, URI base) { }

    /** A non-success answer or a protocol violation, with an operator-readable message. */
    static final class MarathonHttpException extends IOException {
        private static final long serialVersionUID = 1L;

        MarathonHttpException(String message) {
            super(message);
        }
    }

    private final MarathonSettings settings;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient client;
    private final ObjectMapper mapper = new ObjectMapper();
    private volatile URI restBase;

    MarathonHttp(MarathonSettings settings) {
        this.settings = requireNonNull(settings, "settings");
        this.client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(settings.connectTimeout())
                .executor(executor)
                .build();
    }

    ObjectMapper mapper() {
        return mapper;
    }

    /** REST prefers the host the stream is attached to (the leader), then the configured ones. */
    void preferRestBase(URI base) {
        restBase = base;
    }

    OpenStream openStream(URI base) throws IOException, InterruptedException {
        URI uri = URI.create(strip(base) + "/v2/events?" + EVENTS_QUERY);
        HttpResponse<InputStream> r = send(uri, EVENT_STREAM, HttpResponse.BodyHandlers.ofInputStream(),
                settings.connectTimeout(), MarathonHttp::closeQuietly);
        int status = r.statusCode();
        if (status == 200) {
            String ct = r.headers().firstValue("Content-Type").orElse("");
            if (!ct.toLowerCase(java.util.Locale.ROOT).startsWith(EVENT_STREAM)) {
                closeQuietly(r.body());
                throw new MarathonHttpException("GET " + r.uri() + ": Content-Type \"" + ct
                        + "\" (expected text/event-stream)");
            }
            return new OpenStream(r.body(), baseOf(r.uri()));
        }
        String snippet = snippet(r.body());
        if (status == 405) {
            log.warn("marathon rejected the event stream request url={} status=405 reason=\"the Accept header "
                    + "must be exactly 'text/event-stream' (one value); a proxy in between may have changed it\"",
                    r.uri());
            throw new MarathonHttpException("GET " + r.uri() + ": 405 (expected 200; Accept header rejected)");
        }
        if (status == 401 || status == 403) {
            throw new MarathonHttpException("GET " + r.uri() + ": " + status
                    + " (expected 200; check the configured credentials) " + snippet);
        }
        throw new MarathonHttpException("GET " + r.uri() + ": " + status + " (expected 200) " + snippet);
    }

    /**
     * {@code GET path?query} as JSON, trying the preferred REST host first, then every configured
     * URL. Empty on 404 (an app that no longer exists).
     */
    Optional<JsonNode> getJson(String path, String query) throws IOException, InterruptedException {
        List<URI> order = new ArrayList<>();
        URI preferred = restBase;
        if (preferred != null) {
            order.add(preferred);
        }
        for (URI u : settings.urls()) {
            if (!order.contains(u)) {
                order.add(u);
            }
        }
        IOException last = null;
        for (URI base : order) {
            URI uri = URI.create(strip(base) + path + (query.isEmpty() ? "" : "?" + query));
            try {
                HttpResponse<byte[]> r = send(uri, "application/json", HttpResponse.BodyHandlers.ofByteArray(),
                        settings.requestTimeout(), b -> { });
                int status = r.statusCode();
                if (status == 200) {
                    JsonNode json = mapper.readTree(r.body());
                    restBase = base;
                    return Optional.of(json);
                }
                if (status == 404) {
                    restBase = base;
                    return Optional.empty();
                }
                String body = new String(r.body(), 0, Math.min(r.body().length, 300), StandardCharsets.UTF_8);
                last = new MarathonHttpException("GET " + r.uri() + ": " + status + " (expected 200) " + body);
            } catch (IOException e) {
                last = e instanceof MarathonHttpException ? e
                        : new MarathonHttpException("GET " + uri + ": " + e);
            }
            log.debug("marathon rest attempt failed url={} reason=\"{}\"", uri, last.getMessage());
        }
        throw last;
    }

    private <T> HttpResponse<T> send(URI uri, String accept, HttpResponse.BodyHandler<T> handler, Duration timeout,
                                     Consumer<T> discard) throws IOException, InterruptedException {
        HttpResponse<T> r = client.send(request(uri, accept, timeout), handler);
        if (!isRedirect(r.statusCode())) {
            return r;
        }
        URI target = location(uri, r);
        discard.accept(r.body());
        log.info("marathon redirect from={} to={} status={}", uri, target, r.statusCode());
        HttpResponse<T> second = client.send(request(target, accept, timeout), handler);
        if (isRedirect(second.statusCode())) {
            String again = second.headers().firstValue("Location").orElse("?");
            discard.accept(second.body());
            throw new MarathonHttpException("GET " + target + ": second redirect " + second.statusCode() + " to "
                    + again + " (expected at most one redirect, to the leader)");
        }
        return second;
    }

    private HttpRequest request(URI uri, String accept, Duration timeout) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().timeout(timeout).header("Accept", accept);
        settings.auth().ifPresent(a -> b.header("Authorization", a.headerValue()));
        return b.build();
    }

    private static boolean isRedirect(int s) {
        return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
    }

    private static URI location(URI from, HttpResponse<?> r) throws MarathonHttpException {
        String loc = r.headers().firstValue("Location").orElseThrow(() -> new MarathonHttpException(
                "GET " + from + ": " + r.statusCode() + " without Location (expected a redirect to the leader)"));
        try {
            URI target = from.resolve(loc);
            if (!"http".equals(target.getScheme()) && !"https".equals(target.getScheme())) {
                throw new IllegalArgumentException("scheme");
            }
            return target;
        } catch (IllegalArgumentException e) {
            throw new MarathonHttpException("GET " + from + ": Location \"" + loc + "\" (expected an http(s) URL)");
        }
    }

    /** The base URL of a {@code .../v2/events?...} URI. */
    static URI baseOf(URI eventsUri) {
        String path = eventsUri.getRawPath() == null ? "" : eventsUri.getRawPath();
        int i = path.lastIndexOf("/v2/events");
        String basePath = i >= 0 ? path.substring(0, i) : path;
        return URI.create(eventsUri.getScheme() + "://" + eventsUri.getRawAuthority() + basePath);
    }

    private static String strip(URI base) {
        String s = base.toString();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    private static String snippet(InputStream in) {
        try (in) {
            return new String(in.readNBytes(300), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            log.debug("marathon stream close failed reason=\"{}\"", e.toString());
        }
    }

    @Override
    public void close() {
        client.shutdownNow();
        executor.shutdownNow();
    }
}
