package io.tandem.core.admin;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
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
 * a raw path and the Authorization header, and gets back a future that never completes
 * exceptionally. Calls that may be slow ({@link NodeControl#view()}, a scrape) run on
 * {@code offloop}; control-loop futures are awaited without blocking anyone.
 */
final class AdminRouter {
    private static final Logger log = LoggerFactory.getLogger(AdminRouter.class);
    static final Duration CONTROL_TIMEOUT = Duration.ofSeconds(30);
    private static final String GET_HEAD = "GET, HEAD";
    private static final String POST = "POST";

    private final NodeControl control;
    private final PrometheusMeterRegistry registry;
    private final Executor offloop;
    private final Optional<byte[]> tokenDigest;

    AdminRouter(NodeControl control, PrometheusMeterRegistry registry, Executor offloop, Optional<String> token) {
        this.control = requireNonNull(control, "control");
        this.registry = requireNonNull(registry, "registry");
        this.offloop = requireNonNull(offloop, "offloop");
        this.tokenDigest = requireNonNull(token, "token").map(AdminRouter::sha256);
    }

    /** One parsed request. {@code method} is upper case; {@code rawPath} excludes the query. */
    record Request(String method, String rawPath, String authorization, String remote) {
    }

    CompletableFuture<AdminResponse> route(Request req) {
        try {
            return dispatch(req);
        } catch (BadRequest e) {
            return done(AdminResponse.error(400, e.getMessage()));
        } catch (RuntimeException e) {
            log.warn("admin request failed method={} path={} remote={}", req.method(), req.rawPath(), req.remote(), e);
            return done(AdminResponse.error(500, "internal error: " + e));
        }
    }

    private CompletableFuture<AdminResponse> dispatch(Request req) {
        String path = req.rawPath();
        if (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        if (!path.equals("/health") && !authorized(req.authorization())) {
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
                case "metrics" -> read ? offloop(this::metrics) : notAllowed(GET_HEAD);
                default -> notFound(path);
            };
            case 2 -> switch (s.get(0) + "/" + s.get(1)) {
                case "api/node" -> read ? offloop(() -> AdminResponse.json(200, control.view())) : notAllowed(GET_HEAD);
                case "api/ha" -> read ? offloop(() -> control.haView()
                        .map(v -> AdminResponse.json(200, v))
                        .orElseGet(() -> AdminResponse.error(404, "this node is not part of an HA group (no ha section)")))
                        : notAllowed(GET_HEAD);
                case "api/vips" -> read ? offloop(() -> AdminResponse.json(200, control.view().vips()))
                        : notAllowed(GET_HEAD);
                case "api/reload" -> post ? reload(req) : notAllowed(POST);
                default -> notFound(path);
            };
            case 3 -> isVips(s) ? (read ? offloop(() -> vipResponse(s.get(2), v -> v)) : notAllowed(GET_HEAD))
                    : notFound(path);
            case 4 -> isVips(s) && s.get(3).equals("backends")
                    ? (read ? offloop(() -> vipResponse(s.get(2), NodeView.VipView::backends)) : notAllowed(GET_HEAD))
                    : notFound(path);
            case 5 -> isVips(s) && s.get(3).equals("backends")
                    ? (read ? offloop(() -> backendResponse(s.get(2), s.get(4))) : notAllowed(GET_HEAD))
                    : notFound(path);
            case 6 -> isVips(s) && s.get(3).equals("backends")
                    ? (post ? backendAction(req, s.get(2), s.get(4), s.get(5)) : notAllowed(POST))
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

    private AdminResponse metrics() {
        byte[] body = registry.scrape().getBytes(UTF_8);
        return new AdminResponse(200, AdminResponse.PROMETHEUS, body, Map.of());
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
        CompletableFuture<AdminResponse> f = new CompletableFuture<>();
        try {
            offloop.execute(() -> {
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

    private boolean authorized(String header) {
        if (tokenDigest.isEmpty()) {
            return true;
        }
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        // Digests have a fixed length, so the comparison time says nothing about the token.
        return MessageDigest.isEqual(tokenDigest.get(), sha256(header.substring(7).trim()));
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
}
