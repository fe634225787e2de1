package io.tandem.core.admin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

/**
 * The operator's page at {@code GET /}: one HTML file, its script and its style sheet, read from
 * the jar once. Nothing is fetched from anywhere else (the node may have no internet), and the
 * page talks only to this API, with the same token and browser guard as any client.
 *
 * <p>The page itself holds no data, so it is served without the token (a browser cannot send a
 * bearer token with a navigation); it asks for the token when the API answers 401. Its headers
 * forbid framing (the buttons act on the node: no clickjacking), other origins, inline script and
 * any connection but to this API.
 */
final class Dashboard {
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            + "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    private static final Map<String, String> HEADERS = Map.of(
            "Content-Security-Policy", CSP,
            "X-Content-Type-Options", "nosniff",
            "X-Frame-Options", "DENY",
            "Referrer-Policy", "no-referrer");

    /** Path (as requested, normalised) → resource and type. */
    private static final Map<String, AdminResponse> ASSETS = Map.of(
            "/", asset("index.html", "text/html; charset=utf-8"),
            "/ui/app.js", asset("app.js", "text/javascript; charset=utf-8"),
            "/ui/app.css", asset("app.css", "text/css; charset=utf-8"));

    private Dashboard() {
    }

    /** The asset at {@code path}, if it is one of the page's. */
    static Optional<AdminResponse> asset(String path) {
        return Optional.ofNullable(ASSETS.get(path));
    }

    static boolean isAsset(String path) {
        return ASSETS.containsKey(path);
    }

    private static AdminResponse asset(String name, String type) {
        try (InputStream in = Dashboard.class.getResourceAsStream("ui/" + name)) {
            if (in == null) {
                throw new IllegalStateException("dashboard resource missing from the jar: ui/" + name);
            }
            return new AdminResponse(200, type, in.readAllBytes(), HEADERS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
