package io.tandem.core.admin;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tandem.config.AdminSettings;
import io.tandem.config.HostPort;
import io.tandem.core.control.NodeControl;
import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.core.control.NodeView;
import java.net.URLDecoder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps an admin request to a response. Knows nothing of Netty: the handler hands it a method,
 * a raw path and the headers that matter, and gets back a future that never completes
 * exceptionally. {@link NodeControl#view()} runs on {@code offloop} (virtual threads), scrapes
 * on {@code scrapes} (one platform thread, see {@link #metrics()}); control-loop futures are
 * awaited without blocking anyone.
 *
 * <p>Before any endpoint, two guards (both like Prometheus's, Consul's and Docker's): the
 * {@code Host} header must be an IP literal, {@code localhost} or one of
 * {@code admin.allowed_hosts} (a DNS-rebinding page sends its own name), and a state-changing
 * request must not come from a browser page of another origin ({@code Origin},
 * {@code Sec-Fetch-Site}, or a body type an HTML form can send). {@code /health} is exempt from
 * both, as it is from the token: it says only "ok".
 *
 * <p>The token and the allowed host names live in one immutable {@link Access} behind a
 * volatile field, read once per request, so {@link #update} takes effect on the next request.
 */
final class AdminRouter {
    private static final Logger log = LoggerFactory.getLogger(AdminRouter.class);
    static final Duration CONTROL_TIMEOUT = Duration.ofSeconds(AdminRouter.CONTROL_TIMEOUT_SECONDS);
    /** A compile-time constant: the CLI's {@link AdminClient} reads it without initializing this class (and logging). */
    static final long CONTROL_TIMEOUT_SECONDS = 30;
    private static final String GET_HEAD = "GET, HEAD";
    private static final String POST = "POST";
    private static final String BACKEND_METHODS = "GET, HEAD, POST, DELETE";
    /** The most connections one page lists (and the default page size). */
    static final int MAX_CONNECTIONS_PAGE = 1000;
    static final int DEFAULT_CONNECTIONS_PAGE = 100;

    /** Media types a cross-origin page may POST without a CORS preflight (the HTML form encodings). */
    private static final Set<String> FORM_TYPES = Set.of("application/x-www-form-urlencoded", "multipart/form-data",
            "text/plain");
    private static final int MAX_SHOWN = 100;

    private final NodeControl control;
    private final PrometheusMeterRegistry registry;
    private final Executor offloop;
    private final Executor scrapes;
    /** Only touched by the {@code scrapes} thread; grows to the largest scrape and stays. */
    private final Exposition exposition;
    /** Only touched by the {@code scrapes} thread. */
    private volatile Access access;

    AdminRouter(NodeControl control, PrometheusMeterRegistry registry, Executor offloop, Executor scrapes,
                AdminSettings settings) {
        this.control = requireNonNull(control, "control");
        this.registry = requireNonNull(registry, "registry");
        this.offloop = requireNonNull(offloop, "offloop");
        this.scrapes = requireNonNull(scrapes, "scrapes");
        this.exposition = new Exposition(registry);
        this.access = Access.of(requireNonNull(settings, "settings"));
    }

    /** What may change at run time: the token (as a digest) and the extra allowed host names. */
    record Access(Optional<byte[]> tokenDigest, Set<String> allowedHosts) {
        static Access of(AdminSettings s) {
            return new Access(s.token().map(AdminRouter::sha256), Set.copyOf(s.allowedHosts()));
        }
    }

    /** Applies a new token and allowed host names from the next request on. */
    void update(AdminSettings settings) {
        access = Access.of(requireNonNull(settings, "settings"));
    }

    /**
     * One parsed request. {@code method} is upper case; {@code rawPath} excludes the query; the
     * header values are null when absent.
     */
    record Request(String method, String rawPath, String authorization, String remote, String host, String origin,
                   String secFetchSite, String contentType, Map<String, List<String>> query) {
        Request {
            query = query == null ? Map.of() : query;
        }

        /** A request without a query string. */
        Request(String method, String rawPath, String authorization, String remote, String host, String origin,
                String secFetchSite, String contentType) {
            this(method, rawPath, authorization, remote, host, origin, secFetchSite, contentType, Map.of());
        }

        /** A request with only a Host header (tests, tools). */
        Request(String method, String rawPath, String authorization, String remote) {
            this(method, rawPath, authorization, remote, "127.0.0.1", null, null, null);
        }
    }

    CompletableFuture<AdminResponse> route(Request req) {
        try {
            Access a = access;
            String refused = refusal(req, a);
            if (refused != null) {
                log.info("admin request refused method={} path={} remote={} reason=\"{}\"", req.method(),
                        shown(req.rawPath()), req.remote(), refused);
                return done(AdminResponse.error(403, refused));
            }
            return dispatch(req, a);
        } catch (BadRequest e) {
            return done(AdminResponse.error(400, e.getMessage()));
        } catch (RuntimeException e) {
            log.warn("admin request failed method={} path={} remote={}", req.method(), req.rawPath(), req.remote(), e);
            return done(AdminResponse.error(500, "internal error: " + e));
        }
    }

    private static String normalized(String rawPath) {
        return rawPath.length() > 1 && rawPath.endsWith("/") ? rawPath.substring(0, rawPath.length() - 1) : rawPath;
    }

    /** Why the request is refused before it reaches an endpoint (403), or null. */
    static String refusal(Request req, Access a) {
        if (normalized(req.rawPath()).equals("/health")) {
            return null;
        }
        if (req.host() != null && !hostAllowed(req.host(), a.allowedHosts())) {
            return "host " + quoted((req.host())) + " not allowed (expected an IP address, localhost"
                    + " or a name in admin.allowed_hosts)";
        }
        boolean read = req.method().equals("GET") || req.method().equals("HEAD");
        if (read) {
            return null;
        }
        if (req.origin() != null && !sameOrigin(req.origin(), req.host())) {
            return "cross-origin request refused (Origin " + quoted((req.origin()))
                    + " is not this API's origin)";
        }
        if (req.secFetchSite() != null && !req.secFetchSite().equalsIgnoreCase("same-origin")
                && !req.secFetchSite().equalsIgnoreCase("none")) {
            return "cross-site request refused (Sec-Fetch-Site " + quoted((req.secFetchSite())) + ")";
        }
        if (req.contentType() != null) {
            String type = req.contentType().split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
            if (FORM_TYPES.contains(type)) {
                return "content type " + quoted((type)) + " refused (any web page can send it;"
                        + " admin requests take no body)";
            }
        }
        return null;
    }

    /**
     * An IP literal (v4, or v6 in brackets), {@code localhost}, or an allowed name; any port.
     * A trailing dot ({@code localhost.}) names the same host.
     */
    static boolean hostAllowed(String hostHeader, Set<String> allowed) {
        String h = hostHeader.strip().toLowerCase(Locale.ROOT);
        String host;
        String port = null;
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            if (close < 0) {
                return false;
            }
            host = h.substring(1, close);
            String rest = h.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    return false;
                }
                port = rest.substring(1);
            }
            if (!isIpv6Literal(host)) {
                return false;
            }
        } else {
            int colon = h.indexOf(':');
            host = colon < 0 ? h : h.substring(0, colon);
            port = colon < 0 ? null : h.substring(colon + 1);
            if (host.endsWith(".")) {
                host = host.substring(0, host.length() - 1);
            }
            if (!(IPV4.matcher(host).matches() || host.equals("localhost") || allowed.contains(host))) {
                return false;
            }
        }
        return port == null || HostPort.parsePort(port) >= 0;
    }

    private static final java.util.regex.Pattern IPV4 = java.util.regex.Pattern.compile(
            "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    private static boolean isIpv6Literal(String host) {
        if (host.indexOf(':') < 0) {
            return false;
        }
        try {
            java.net.Inet6Address.ofLiteral(host);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The page that sent the request was served by this API itself (the dashboard at {@code /}). */
    private static boolean sameOrigin(String origin, String host) {
        if (host == null) {
            return false;
        }
        String o = origin.strip();
        return o.equalsIgnoreCase("http://" + host.strip()) || o.equalsIgnoreCase("https://" + host.strip());
    }

    private static String shown(String s) {
        return s.length() <= MAX_SHOWN ? s : s.substring(0, MAX_SHOWN) + "...";
    }

    /** A client-supplied value in quotes, cut short, control characters shown as '?'. */
    static String quoted(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_SHOWN) + 5).append('"');
        String cut = shown(s);
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return b.append('"').toString();
    }

    private CompletableFuture<AdminResponse> dispatch(Request req, Access access) {
        String path = normalized(req.rawPath());
        if (Dashboard.isAsset(path)) {
            // The page holds no data (and a browser cannot send a token with a navigation): it
            // asks for the token itself when the API answers 401.
            boolean read = req.method().equals("GET") || req.method().equals("HEAD");
            return read ? done(Dashboard.asset(path).orElseThrow()) : notAllowed(GET_HEAD);
        }
        if (!path.equals("/health") && !authorized(access, req.authorization())) {
            String reason = req.authorization() == null ? "missing bearer token" : "invalid bearer token";
            return done(AdminResponse.error(401, reason, Map.of("WWW-Authenticate", "Bearer realm=\"tandem\"")));
        }
        List<String> s = segments(path);
        String m = req.method();
        boolean read = m.equals("GET") || m.equals("HEAD");
        boolean post = m.equals("POST");
        return switch (s.size()) {
            case 1 -> switch (s.get(0)) {
                case "health" -> read ? done(AdminResponse.text(200, "ok")) : notAllowed(GET_HEAD);
                case "ready" -> read ? offloop(this::ready) : notAllowed(GET_HEAD);
                case "metrics" -> read ? on(scrapes, this::metrics) : notAllowed(GET_HEAD);
                default -> notFound(path);
            };
            case 2 -> switch (s.get(0) + "/" + s.get(1)) {
                case "api/node" -> read ? offloop(() -> AdminResponse.json(200, control.view())) : notAllowed(GET_HEAD);
                case "api/ha" -> read ? offloop(() -> control.haView()
                        .map(v -> AdminResponse.json(200, withAnnounce(v)))
                        .orElseGet(() -> AdminResponse.error(404, "this node is not part of an HA group (no ha section)")))
                        : notAllowed(GET_HEAD);
                case "api/vips" -> read ? offloop(() -> AdminResponse.json(200, control.view().vips()))
                        : notAllowed(GET_HEAD);
                case "api/config" -> read ? offloop(this::config) : notAllowed(GET_HEAD);
                case "api/reloads" -> read ? offloop(() -> AdminResponse.json(200, control.reloadHistory()))
                        : notAllowed(GET_HEAD);
                case "api/reload" -> post ? reload(req) : notAllowed(POST);
                case "api/posture" -> read ? offloop(() -> AdminResponse.json(200, control.posture()))
                        : notAllowed(GET_HEAD);
                default -> notFound(path);
            };
            case 3 -> isVips(s) ? (read ? offloop(() -> vipResponse(s.get(2), v -> v)) : notAllowed(GET_HEAD))
                    : notFound(path);
            case 4 -> isVips(s) && s.get(3).equals("backends")
                    ? (read ? offloop(() -> vipResponse(s.get(2), NodeView.VipView::backends)) : notAllowed(GET_HEAD))
                    : isVips(s) && s.get(3).equals("connections")
                    ? (read ? connections(req, s.get(2), null) : notAllowed(GET_HEAD))
                    : notFound(path);
            case 5 -> isVips(s) && s.get(3).equals("backends")
                    ? (read ? offloop(() -> backendResponse(s.get(2), s.get(4)))
                    : post ? addBackend(req, s.get(2), s.get(4))
                    : m.equals("DELETE") ? removeBackend(req, s.get(2), s.get(4))
                    : notAllowed(BACKEND_METHODS))
                    : notFound(path);
            case 6 -> isVips(s) && s.get(3).equals("backends")
                    ? (s.get(5).equals("connections") ? (read ? connections(req, s.get(2), s.get(4))
                    : notAllowed(GET_HEAD))
                    : s.get(5).equalsIgnoreCase("weight") ? (post ? setWeight(req, s.get(2), s.get(4)) : notAllowed(POST))
                    : post ? backendAction(req, s.get(2), s.get(4), s.get(5)) : notAllowed(POST))
                    : notFound(path);
            default -> notFound(path);
        };
    }

    private static boolean isVips(List<String> s) {
        return s.get(0).equals("api") && s.get(1).equals("vips");
    }

    private AdminResponse ready() {
        NodeView view = control.view();
        if (view.draining()) {
            return AdminResponse.text(503, "not ready: node is draining");
        }
        if (view.warming()) {
            return AdminResponse.text(503, "not ready: warming: first health checks pending");
        }
        if (!view.ready()) {
            return AdminResponse.text(503, "not ready: starting (listeners not bound yet)");
        }
        return AdminResponse.text(200, "ready");
    }

    /**
     * Runs on the one scrape thread, a platform thread: the registry's own text writer (still the
     * fallback) wraps its output in a {@code BufferedWriter} that on a virtual thread starts at 512
     * chars and grows by one write at a time (about 23 MB copied per scrape, issue #15). One thread
     * also means concurrent scrapers queue instead of multiplying the garbage.
     */
    AdminResponse metrics() {
        return new AdminResponse(200, AdminResponse.PROMETHEUS, exposition.scrape(), Map.of());
    }

    /** {@code GET /api/config}: the config in force, defaults filled in, secrets masked. */
    private AdminResponse config() {
        io.tandem.config.TandemConfig c;
        try {
            c = control.config();
        } catch (UnsupportedOperationException e) {
            return AdminResponse.error(404, "this node does not expose its config");
        }
        if (c == null) {
            return AdminResponse.error(503, "no config applied yet");
        }
        return AdminResponse.json(200, io.tandem.config.ConfigDump.of(c));
    }

    private AdminResponse vipResponse(String name, java.util.function.Function<NodeView.VipView, Object> part) {
        return control.view().vip(name)
                .map(v -> AdminResponse.json(200, part.apply(v)))
                .orElseGet(() -> AdminResponse.error(404, noVip(name)));
    }

    private AdminResponse backendResponse(String vipName, String rawBackend) {
        String backend = parseBackend(rawBackend);
        Optional<NodeView.VipView> vip = control.view().vip(vipName);
        if (vip.isEmpty()) {
            return AdminResponse.error(404, noVip(vipName));
        }
        return vip.get().backends().stream()
                .filter(b -> b.address().equals(backend))
                .findFirst()
                .map(b -> AdminResponse.json(200, b))
                .orElseGet(() -> AdminResponse.error(404,
                        "no backend \"" + backend + "\" in VIP \"" + vipName + "\""));
    }

    private CompletableFuture<AdminResponse> reload(Request req) {
        return await(control::reload, outcome -> AdminResponse.json(outcome.applied() ? 200 : 422, outcome))
                .thenApply(r -> {
                    log.info("admin action=reload remote={} status={}", req.remote(), r.status());
                    return r;
                });
    }

    private CompletableFuture<AdminResponse> backendAction(Request req, String vip, String rawBackend, String rawAction) {
        BackendAction action;
        try {
            action = BackendAction.valueOf(rawAction.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return done(AdminResponse.error(400, "unknown action \"" + rawAction + "\" (expected drain, disable or enable)"));
        }
        String backend = parseBackend(rawBackend);
        String name = action.name().toLowerCase(Locale.ROOT);
        return await(() -> control.backendAction(vip, backend, action), view -> AdminResponse.json(200, view))
                .thenApply(r -> {
                    log.info("admin action={} vip={} backend={} remote={} status={}", name, vip, backend,
                            req.remote(), r.status());
                    return r;
                });
    }

    // ---------------------------------------------------------------- run-time changes

    /** {@code POST /api/vips/{vip}/backends/{backend}/weight?value=N}. */
    private CompletableFuture<AdminResponse> setWeight(Request req, String vip, String rawBackend) {
        String backend = parseBackend(rawBackend);
        checkParameters(req, Set.of("value"));
        int weight = intParameter(req, "value", true, 0);
        return audited(req, "set-weight", List.of("vip", vip, "backend", backend, "weight", weight),
                await(() -> control.setWeight(vip, backend, weight), view -> AdminResponse.json(200, view)));
    }

    /** {@code POST /api/vips/{vip}/backends/{backend}?weight=&region=&zone=&priority=}. */
    private CompletableFuture<AdminResponse> addBackend(Request req, String vip, String rawBackend) {
        String backend = parseBackend(rawBackend);
        checkParameters(req, Set.of("weight", "region", "zone", "priority"));
        int weight = intParameter(req, "weight", false, 1);
        int priority = intParameter(req, "priority", false, 0);
        String region = parameter(req, "region");
        String zone = parameter(req, "zone");
        var spec = new NodeControl.RuntimeBackend(backend, weight, region, zone, priority);
        List<Object> what = new ArrayList<>(List.of("vip", vip, "backend", backend, "weight", weight));
        if (region != null) {
            what.addAll(List.of("region", region));
        }
        if (zone != null) {
            what.addAll(List.of("zone", zone));
        }
        what.addAll(List.of("priority", priority));
        return audited(req, "add-backend", what,
                await(() -> control.addBackend(vip, spec), view -> AdminResponse.json(201, view)));
    }

    /** {@code DELETE /api/vips/{vip}/backends/{backend}}. */
    private CompletableFuture<AdminResponse> removeBackend(Request req, String vip, String rawBackend) {
        String backend = parseBackend(rawBackend);
        checkParameters(req, Set.of());
        return audited(req, "remove-backend", List.of("vip", vip, "backend", backend),
                await(() -> control.removeBackend(vip, backend), view -> AdminResponse.json(200, view)));
    }

    /** {@code GET /api/vips/{vip}/connections} and {@code GET /api/vips/{vip}/backends/{backend}/connections}. */
    private CompletableFuture<AdminResponse> connections(Request req, String vip, String rawBackend) {
        String backend = rawBackend == null ? null : parseBackend(rawBackend);
        checkParameters(req, Set.of("limit", "after"));
        int limit = intParameter(req, "limit", false, DEFAULT_CONNECTIONS_PAGE);
        if (limit < 1 || limit > MAX_CONNECTIONS_PAGE) {
            throw new BadRequest("limit: " + limit + " (expected 1.." + MAX_CONNECTIONS_PAGE + ")");
        }
        String rawAfter = parameter(req, "after");
        long after;
        try {
            after = rawAfter == null ? 0 : Long.parseLong(rawAfter);
        } catch (NumberFormatException e) {
            after = -1;
        }
        if (after < 0) {
            throw new BadRequest("after: " + quoted(rawAfter) + " (expected the \"next\" of the previous page)");
        }
        long from = after;
        return await(() -> control.connections(vip, backend, limit, from), page -> AdminResponse.json(200, page));
    }

    /**
     * Logs a change when it completes: who asked, what ({@code what}: key, value, key, value...),
     * and how it ended (and why, when refused). Every value is a placeholder of its own key, so
     * the log encoder escapes what a client sent (a VIP name from the path, a zone).
     */
    private static CompletableFuture<AdminResponse> audited(Request req, String action, List<Object> what,
                                                            CompletableFuture<AdminResponse> response) {
        return response.thenApply(r -> {
            StringBuilder pattern = new StringBuilder("admin action={}");
            List<Object> args = new ArrayList<>(what.size() / 2 + 4);
            args.add(action);
            for (int i = 0; i < what.size(); i += 2) {
                pattern.append(' ').append(what.get(i)).append("={}");
                args.add(what.get(i + 1));
            }
            pattern.append(" remote={} status={}");
            args.add(req.remote());
            args.add(r.status());
            if (r.status() >= 400) {
                pattern.append(" reason=\"{}\"");
                args.add(errorOf(r));
            }
            log.info(pattern.toString(), args.toArray());
            return r;
        });
    }

    /** The reason in an error response's body, quotes escaped for a log value. */
    private static String errorOf(AdminResponse r) {
        String body = new String(r.body(), UTF_8).strip();
        String prefix = "{\"error\":\"";
        String reason = body.startsWith(prefix) && body.endsWith("\"}")
                ? body.substring(prefix.length(), body.length() - 2) : body;
        // Longer than a path: a refusal's reason names the value and what was expected.
        String cut = reason.length() <= 400 ? reason : reason.substring(0, 400) + "...";
        return cut.replace("\\\"", "'").replace("\"", "'");
    }

    private static void checkParameters(Request req, Set<String> known) {
        for (String name : req.query().keySet()) {
            if (!known.contains(name)) {
                throw new BadRequest("unknown parameter " + quoted(name) + " (expected "
                        + (known.isEmpty() ? "none" : String.join(", ", new java.util.TreeSet<>(known))) + ")");
            }
        }
    }

    private static String parameter(Request req, String name) {
        List<String> values = req.query().get(name);
        if (values == null || values.isEmpty()) {
            return null;
        }
        if (values.size() > 1) {
            throw new BadRequest(name + ": given " + values.size() + " times (expected once)");
        }
        return values.getFirst();
    }

    private static int intParameter(Request req, String name, boolean required, int fallback) {
        String v = parameter(req, name);
        if (v == null) {
            if (required) {
                throw new BadRequest(name + ": missing (expected ?" + name + "=N)");
            }
            return fallback;
        }
        try {
            if (v.length() <= 9 && v.chars().allMatch(c -> c >= '0' && c <= '9') && !v.isEmpty()) {
                return Integer.parseInt(v);
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new BadRequest(name + ": " + quoted(v) + " (expected a whole number)");
    }

    /** Awaits a control-loop future; IllegalArgumentException means "no such thing" (404). */
    private <T> CompletableFuture<AdminResponse> await(Supplier<CompletableFuture<T>> call,
                                                      java.util.function.Function<T, AdminResponse> ok) {
        CompletableFuture<T> f;
        try {
            f = call.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        // copy(): time out our view of the call, never the caller's future itself.
        return f.copy().orTimeout(CONTROL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .handle((value, error) -> {
                    if (error == null) {
                        return ok.apply(value);
                    }
                    Throwable cause = unwrap(error);
                    if (cause instanceof NodeControl.Refused refused) {
                        return AdminResponse.error(refused.kind() == NodeControl.Refused.Kind.CONFLICT ? 409 : 400,
                                refused.getMessage());
                    }
                    if (cause instanceof UnsupportedOperationException) {
                        return AdminResponse.error(501, String.valueOf(cause.getMessage()));
                    }
                    if (cause instanceof IllegalArgumentException) {
                        return AdminResponse.error(404, cause.getMessage());
                    }
                    if (cause instanceof TimeoutException) {
                        return AdminResponse.error(503, "control loop did not answer within "
                                + CONTROL_TIMEOUT.toSeconds() + "s");
                    }
                    log.warn("admin control call failed", cause);
                    return AdminResponse.error(500, "internal error: " + cause);
                });
    }

    private CompletableFuture<AdminResponse> offloop(Supplier<AdminResponse> work) {
        return on(offloop, work);
    }

    private static CompletableFuture<AdminResponse> on(Executor executor, Supplier<AdminResponse> work) {
        CompletableFuture<AdminResponse> f = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    f.complete(work.get());
                } catch (BadRequest e) {
                    f.complete(AdminResponse.error(400, e.getMessage()));
                } catch (RuntimeException e) {
                    log.warn("admin request failed", e);
                    f.complete(AdminResponse.error(500, "internal error: " + e));
                }
            });
        } catch (RuntimeException e) { // rejected: the server is closing
            f.complete(AdminResponse.error(503, "admin server is shutting down"));
        }
        return f;
    }

    private static boolean authorized(Access access, String header) {
        if (access.tokenDigest().isEmpty()) {
            return true;
        }
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        // Digests have a fixed length, so the comparison time says nothing about the token.
        return MessageDigest.isEqual(access.tokenDigest().get(), sha256(header.substring(7).trim()));
    }

    /** Splits a raw path into percent-decoded segments ('+' stays '+': this is a path, not a form). */
    static List<String> segments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String seg : rawPath.split("/")) {
            if (seg.isEmpty()) {
                continue;
            }
            try {
                out.add(URLDecoder.decode(seg.replace("+", "%2B"), UTF_8));
            } catch (IllegalArgumentException e) {
                throw new BadRequest("malformed path segment \"" + seg + "\" (" + e.getMessage() + ")");
            }
        }
        return out;
    }

    private static String parseBackend(String raw) {
        try {
            return HostPort.parse(raw).toString();
        } catch (IllegalArgumentException e) {
            throw new BadRequest("backend: " + e.getMessage());
        }
    }

    private static String noVip(String name) {
        return "no VIP named \"" + name + "\"";
    }

    private static CompletableFuture<AdminResponse> notFound(String path) {
        return done(AdminResponse.error(404, "no such endpoint: " + path));
    }

    private static CompletableFuture<AdminResponse> notAllowed(String allow) {
        return done(AdminResponse.error(405, "method not allowed (allowed: " + allow + ")", Map.of("Allow", allow)));
    }

    private static CompletableFuture<AdminResponse> done(AdminResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }

    /** A client mistake; becomes a 400 with the message. */
    static final class BadRequest extends RuntimeException {
        BadRequest(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * {@code /api/ha}: the HA view plus, in BGP mode, an {@code announce} member (what BIRD exports,
     * its BGP and BFD sessions); ARP mode reads {@code "announce": {"mode": "arp"}}.
     */
    private com.fasterxml.jackson.databind.JsonNode withAnnounce(io.tandem.ha.HaView view) {
        com.fasterxml.jackson.databind.node.ObjectNode n = AdminJson.MAPPER.valueToTree(view);
        n.set("announce", control.announceView().<com.fasterxml.jackson.databind.JsonNode>map(AdminJson.MAPPER::valueToTree)
                .orElseGet(() -> AdminJson.MAPPER.createObjectNode().put("mode", "arp")));
        return n;
    }
}
