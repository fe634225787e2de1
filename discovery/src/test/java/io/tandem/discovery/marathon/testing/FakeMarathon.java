package io.tandem.discovery.marathon.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.config.LabelSelector;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback Marathon that behaves on the wire like the real one (reference discovery.md A/B):
 * {@code /v2/events} is Jetty's EventSourceServlet — 405 unless one {@code Accept} value equals
 * {@code text/event-stream}; otherwise 200, {@code Content-Type: text/event-stream;charset=UTF-8},
 * {@code Connection: close}, a raw (unchunked) body, {@code event:/data:} framing with CRLF,
 * {@code event_stream_attached} first, and a {@code \r} flush {@code \n} flush heartbeat. A
 * standby answers 302 to the leader with the same query and proxies REST. Raw sockets give the
 * tests exact control of bytes and timing. Every response closes its connection.
 *
 * <p>{@code GET /v2/apps?label=<selector>} filters the list as Marathon does (its grammar: see
 * {@link LabelSelector}); a single app ({@code /v2/apps/{id}}) is never filtered, as in Marathon.
 */
public final class FakeMarathon implements AutoCloseable {

    private static final class AppState {
        final Map<String, ObjectNode> apps = new LinkedHashMap<>();
    }

    private static final class Stream {
        final Socket socket;
        final OutputStream out;
        final Set<String> filter;

        Stream(Socket socket, OutputStream out, Set<String> filter) {
            this.socket = socket;
            this.out = out;
            this.filter = filter;
        }

        boolean wants(String type) {
            return filter.isEmpty() || filter.contains(type);
        }
    }

    private final ObjectMapper mapper = new ObjectMapper();
    private final ServerSocket server;
    private final AppState state;
    private final FakeMarathon redirectTo;
    private final List<Stream> streams = new CopyOnWriteArrayList<>();
    private final Set<Socket> sockets = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<List<String>> eventAccepts = new CopyOnWriteArrayList<>();
    private final List<String> authSeen = new CopyOnWriteArrayList<>();
    private final AtomicInteger eventRequests = new AtomicInteger();
    private final AtomicInteger appListRequests = new AtomicInteger();
    private final AtomicInteger appRequests = new AtomicInteger();
    private final List<String> appListLabelQueries = new CopyOnWriteArrayList<>();
    private volatile Duration heartbeat = Duration.ofSeconds(10);
    private volatile boolean silent;
    private volatile boolean restFailing;
    private volatile String requiredAuth;
    private volatile boolean closed;
    private final Thread acceptor;
    private final Thread heartbeater;

    private FakeMarathon(AppState state, FakeMarathon redirectTo) throws IOException {
        this.state = state;
        this.redirectTo = redirectTo;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        acceptor = Thread.ofVirtual().name("fake-marathon-accept").start(this::acceptLoop);
        heartbeater = Thread.ofVirtual().name("fake-marathon-heartbeat").start(this::heartbeatLoop);
    }

    /** A leading Marathon with an empty app list. */
    public static FakeMarathon leader() throws IOException {
        return new FakeMarathon(new AppState(), null);
    }

    /** A standby: redirects the event stream to {@code target}, serves (proxies) target's apps. */
    public static FakeMarathon standbyOf(FakeMarathon target) throws IOException {
        return new FakeMarathon(target.state, target);
    }

    public URI baseUri() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    // ------------------------------------------------------------ behaviour knobs

    public void heartbeat(Duration period) {
        this.heartbeat = period;
    }

    /** Stop (or resume) heartbeats: the stream stays open but no byte flows. */
    public void silent(boolean silent) {
        this.silent = silent;
    }

    /** Every request must carry exactly this {@code Authorization} value, else 401. */
    public void requireAuthorization(String headerValue) {
        this.requiredAuth = headerValue;
    }

    /** REST answers 503 while true. */
    public void failRest(boolean failing) {
        this.restFailing = failing;
    }

    /** Leadership lost: every open event stream is closed (the client sees EOF). */
    public void abdicate() {
        for (Stream s : streams) {
            closeStream(s);
        }
    }

    /**
     * Marathon 1.8+ closing a slow consumer whose buffer filled: the socket ends, here in the
     * middle of an event, which the client must discard.
     */
    public void slowConsumerClose() {
        for (Stream s : streams) {
            write(s, "event: status_update_event\r\ndata: {\"eventType\":\"status_upd".getBytes(StandardCharsets.UTF_8));
            closeStream(s);
        }
    }

    // ------------------------------------------------------------ app state

    public void putApp(String appJson) {
        ObjectNode app = (ObjectNode) readTree(appJson);
        if (!app.has("tasks")) {
            app.putArray("tasks");
        }
        synchronized (state) {
            state.apps.put(app.get("id").asText(), app);
        }
    }

    public void removeApp(String id) {
        synchronized (state) {
            state.apps.remove(id);
        }
    }

    /** Adds or replaces (by id) a task of an app. */
    public void putTask(String appId, String taskJson) {
        ObjectNode task = (ObjectNode) readTree(taskJson);
        synchronized (state) {
            ArrayNode tasks = (ArrayNode) app(appId).get("tasks");
            for (int i = 0; i < tasks.size(); i++) {
                if (tasks.get(i).path("id").asText().equals(task.get("id").asText())) {
                    tasks.set(i, task);
                    return;
                }
            }
            tasks.add(task);
        }
    }

    public void removeTask(String appId, String taskId) {
        synchronized (state) {
            ArrayNode tasks = (ArrayNode) app(appId).get("tasks");
            for (int i = 0; i < tasks.size(); i++) {
                if (tasks.get(i).path("id").asText().equals(taskId)) {
                    tasks.remove(i);
                    return;
                }
            }
        }
    }

    public void setTaskState(String appId, String taskId, String mesosState) {
        synchronized (state) {
            task(appId, taskId).put("state", mesosState);
        }
    }

    private ObjectNode app(String id) {
        ObjectNode app = state.apps.get(id);
        if (app == null) {
            throw new IllegalArgumentException("no app " + id);
        }
        return app;
    }

    private ObjectNode task(String appId, String taskId) {
        for (JsonNode t : app(appId).get("tasks")) {
            if (t.path("id").asText().equals(taskId)) {
                return (ObjectNode) t;
            }
        }
        throw new IllegalArgumentException("no task " + taskId);
    }

    // ------------------------------------------------------------ events

    /**
     * Writes {@code event: type\r\ndata: json\r\n\r\n} to every stream subscribed to the type.
     *
     * @return {@link System#nanoTime()} just before the first byte was written
     */
    public long emit(String type, String json) {
        String oneLine = readTree(json).toString();
        byte[] bytes = ("event: " + type + "\r\ndata: " + oneLine + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        for (Stream s : streams) {
            if (s.wants(type)) {
                write(s, bytes);
            }
        }
        return t0;
    }

    /** Writes bytes as they are to every stream (broken framing, malformed JSON...). */
    public void emitRaw(String raw) {
        byte[] bytes = raw.getBytes(StandardCharsets.UTF_8);
        for (Stream s : streams) {
            write(s, bytes);
        }
    }

    // ------------------------------------------------------------ observations

    public int openStreams() {
        return streams.size();
    }

    public int eventRequests() {
        return eventRequests.get();
    }

    /** {@code GET /v2/apps} (full list) requests served. */
    public int appListRequests() {
        return appListRequests.get();
    }

    /** {@code GET /v2/apps/{id}} requests served. */
    public int appRequests() {
        return appRequests.get();
    }

    /**
     * The {@code label} selector of every {@code GET /v2/apps} (full list) request, {@code ""} when
     * it had none.
     */
    public List<String> appListLabelQueries() {
        return List.copyOf(appListLabelQueries);
    }

    /** The Accept header lines of every {@code /v2/events} request, one list per request. */
    public List<List<String>> eventAcceptHeaders() {
        return List.copyOf(eventAccepts);
    }

    public List<String> authorizationHeaders() {
        return List.copyOf(authSeen);
    }

    // ------------------------------------------------------------ server

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                Thread.ofVirtual().name("fake-marathon-conn").start(() -> serve(s));
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("fake marathon accept failed: " + e);
                }
            }
        }
    }

    private void heartbeatLoop() {
        long last = System.nanoTime();
        while (!closed) {
            try {
                Thread.sleep(Math.min(20, Math.max(1, heartbeat.toMillis()))); // re-read the period often
            } catch (InterruptedException e) {
                return;
            }
            if (System.nanoTime() - last < heartbeat.toNanos()) {
                continue;
            }
            last = System.nanoTime();
            if (silent) {
                continue;
            }
            for (Stream s : streams) {
                // Jetty: '\r', flush, '\n', flush
                write(s, new byte[] {'\r'});
                write(s, new byte[] {'\n'});
            }
        }
    }

    private record Request(String method, String path, String rawQuery, Map<String, List<String>> headers) {
        List<String> header(String name) {
            return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
        }

        List<String> queryValues(String key) {
            List<String> out = new ArrayList<>();
            if (rawQuery == null) {
                return out;
            }
            for (String kv : rawQuery.split("&")) {
                int eq = kv.indexOf('=');
                String k = eq < 0 ? kv : kv.substring(0, eq);
                if (k.equals(key)) {
                    out.add(URLDecoder.decode(eq < 0 ? "" : kv.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            return out;
        }
    }

    private void serve(Socket s) {
        try {
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream());
            Request req = readRequest(in);
            if (req == null) {
                s.close();
                return;
            }
            OutputStream out = s.getOutputStream();
            List<String> auth = req.header("authorization");
            authSeen.add(auth.isEmpty() ? "" : auth.get(0));
            if (requiredAuth != null && !(auth.size() == 1 && auth.get(0).equals(requiredAuth))) {
                respond(out, 401, "application/json", "{\"message\":\"Unauthorized\"}");
                s.close();
                return;
            }
            if (req.path().equals("/v2/events")) {
                eventRequests.incrementAndGet();
                eventAccepts.add(List.copyOf(req.header("accept")));
                if (redirectTo != null) {
                    String loc = redirectTo.baseUri() + "/v2/events" + (req.rawQuery() == null ? "" : "?" + req.rawQuery());
                    out.write(("HTTP/1.1 302 Found\r\nLocation: " + loc + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    s.close();
                    return;
                }
                if (!req.header("accept").contains("text/event-stream")) {
                    respond(out, 405, "text/html;charset=ISO-8859-1", "HTTP method GET is not supported by this URL");
                    s.close();
                    return;
                }
                openStream(s, in, out, new HashSet<>(req.queryValues("event_type")));
                return;
            }
            if (req.path().equals("/v2/apps") || req.path().startsWith("/v2/apps/")) {
                if (restFailing) {
                    respond(out, 503, "application/json", "{\"message\":\"failing on purpose\"}");
                } else {
                    serveApps(out, req);
                }
                s.close();
                return;
            }
            respond(out, 404, "application/json", "{\"message\":\"not found\"}");
            s.close();
        } catch (IOException e) {
            closeQuietly(s);
        } finally {
            sockets.remove(s);
        }
    }

    private void serveApps(OutputStream out, Request req) throws IOException {
        List<String> embed = req.queryValues("embed");
        synchronized (state) {
            if (req.path().equals("/v2/apps")) {
                appListRequests.incrementAndGet();
                boolean tasks = embed.contains("apps.tasks") || embed.contains("tasks");
                List<String> label = req.queryValues("label");
                appListLabelQueries.add(label.isEmpty() ? "" : label.get(0));
                LabelSelector selector;
                try {
                    selector = label.isEmpty() ? null : LabelSelector.parse(label.get(0));
                } catch (IllegalArgumentException e) {
                    // Marathon answers an unparsable selector with 422
                    respond(out, 422, "application/json", "{\"message\":\"Invalid label selector\"}");
                    return;
                }
                ObjectNode root = mapper.createObjectNode();
                ArrayNode arr = root.putArray("apps");
                for (ObjectNode a : state.apps.values()) {
                    if (selector == null || selector.matches(labels(a))) {
                        arr.add(view(a, tasks));
                    }
                }
                respond(out, 200, "application/json", root.toString());
                return;
            }
            appRequests.incrementAndGet();
            String id = req.path().substring("/v2/apps".length());
            ObjectNode a = state.apps.get(id);
            if (a == null) {
                respond(out, 404, "application/json", "{\"message\":\"App '" + id + "' does not exist\"}");
                return;
            }
            ObjectNode root = mapper.createObjectNode();
            root.set("app", view(a, embed.contains("app.tasks") || embed.contains("tasks")));
            respond(out, 200, "application/json", root.toString());
        }
    }

    private static Map<String, String> labels(ObjectNode app) {
        Map<String, String> out = new LinkedHashMap<>();
        app.path("labels").properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    private static ObjectNode view(ObjectNode app, boolean withTasks) {
        ObjectNode copy = app.deepCopy();
        if (!withTasks) {
            copy.remove("tasks");
        }
        return copy;
    }

    private void openStream(Socket s, InputStream in, OutputStream out, Set<String> filter) throws IOException {
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;charset=UTF-8\r\nConnection: close\r\n"
                + "X-Marathon-Leader: " + baseUri() + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        Stream stream = new Stream(s, out, filter);
        streams.add(stream);
        if (stream.wants("event_stream_attached")) {
            write(stream, ("event: event_stream_attached\r\ndata: {\"remoteAddress\":\"" + s.getInetAddress().getHostAddress()
                    + "\",\"eventType\":\"event_stream_attached\",\"timestamp\":\"" + Instant.now() + "\"}\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        try {
            while (in.read() >= 0) {
                // the client sends nothing; EOF means it went away
            }
        } catch (IOException e) {
            // reset by the client
        } finally {
            closeStream(stream);
        }
    }

    private void write(Stream s, byte[] bytes) {
        synchronized (s) {
            try {
                s.out.write(bytes);
                s.out.flush();
            } catch (IOException e) {
                closeStream(s);
            }
        }
    }

    private void closeStream(Stream s) {
        streams.remove(s);
        closeQuietly(s.socket);
    }

    private static Request readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1
                    : b == '\r' ? 1 : 0;
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        String[] rl = lines[0].split(" ");
        String target = rl[1];
        int q = target.indexOf('?');
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) {
                headers.computeIfAbsent(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(lines[i].substring(c + 1).trim());
            }
        }
        return new Request(rl[0], q < 0 ? target : target.substring(0, q), q < 0 ? null : target.substring(q + 1), headers);
    }

    private static void respond(OutputStream out, int status, String contentType, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: " + contentType
                + "\r\nContent-Length: " + b.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 401 -> "Unauthorized";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 422 -> "Unprocessable Entity";
            case 503 -> "Service Unavailable";
            default -> "Status";
        };
    }

    private JsonNode readTree(String json) {
        try {
            return mapper.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("test JSON is broken: " + json, e);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        heartbeater.interrupt();
        abdicate();
        for (Socket s : sockets) {
            closeQuietly(s);
        }
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
