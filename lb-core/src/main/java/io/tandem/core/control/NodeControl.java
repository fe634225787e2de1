package io.tandem.core.control;

import io.tandem.ha.HaView;
import java.util.concurrent.CompletableFuture;

/**
 * What the admin API (and signals) may ask of a running node. Every mutating call is posted to
 * the control loop and completes when the loop has applied it; none blocks the caller's thread.
 */
public interface NodeControl {

    /** A fresh picture of the node. */
    NodeView view();

    /**
     * The HA group as this node sees it (peers, link state, each VIP address's owner and epoch,
     * ZooKeeper state), or empty when the node is not part of a group. Serialised as-is to JSON.
     */
    default java.util.Optional<HaView> haView() {
        return java.util.Optional.empty();
    }

    /**
     * How this node announces its VIP addresses ({@code ha.announce}): in BGP mode what BIRD
     * exports and its BGP and BFD sessions; empty in ARP mode or without an HA group. The
     * {@code announce} member of {@code /api/ha}.
     */
    default java.util.Optional<io.tandem.ha.announce.Announcer.AnnounceView> announceView() {
        return java.util.Optional.empty();
    }

    /**
     * The config in force, every default filled in (restart-only keys at their running values);
     * {@link ControlLoop#config()}. Null before the first config is applied.
     */
    default io.tandem.config.TandemConfig config() {
        throw new UnsupportedOperationException("this node does not expose its config");
    }

    /** The discovery sources and their freshness: {@link NodeView#sources()} without the rest of the view. */
    default java.util.List<NodeView.SourceView> sources() {
        return view().sources();
    }

    /**
     * The node's single points of failure ({@link PostureReport}), computed now. Serialised as-is
     * to JSON by {@code GET /api/posture}.
     */
    default PostureReport posture() {
        throw new UnsupportedOperationException("this node does not report its posture");
    }

    /** The node's last config applies and reloads, oldest first; empty where nobody records them. */
    default java.util.List<ReloadRecord> reloadHistory() {
        return java.util.List.of();
    }

    /**
     * One config apply or reload: when it ended, who asked ({@code start}, {@code api},
     * {@code sighup}, {@code file}) and its outcome.
     */
    record ReloadRecord(java.time.Instant at, String trigger, ReloadOutcome outcome) {
        public ReloadRecord {
            java.util.Objects.requireNonNull(at, "at");
            java.util.Objects.requireNonNull(trigger, "trigger");
            java.util.Objects.requireNonNull(outcome, "outcome");
        }
    }

    /** Re-read the config source, validate, compile and swap; a bad file changes nothing. */
    CompletableFuture<ReloadOutcome> reload();

    /**
     * Operator action on a backend of a VIP.
     *
     * @return completes exceptionally with {@link IllegalArgumentException} when the VIP or
     *         backend does not exist (the message says which)
     */
    CompletableFuture<NodeView.BackendView> backendAction(String vip, String backend, BackendAction action);

    /** Operator actions on a backend. */
    enum BackendAction {
        /** No new connections; existing ones finish (flag DRAINING). */
        DRAIN,
        /** Out of rotation (flag DISABLED); existing connections are left alone. */
        DISABLE,
        /** Clear the operator's flags (DRAINING, DISABLED). */
        ENABLE
    }

    /**
     * Result of a reload: applied or rejected with every error. Every difference between the file
     * and the running config is in exactly one list: {@code changes} (applied live, each entry
     * true) or {@code needsRestart} ({@code "admin.listen: 127.0.0.1:9090 → 127.0.0.1:9091 (needs a
     * restart)"}, secrets shown as {@code ***}), which the node keeps reporting on every reload
     * until it restarts.
     */
    record ReloadOutcome(boolean applied, long generation, java.util.List<String> changes,
                         java.util.List<String> needsRestart, java.util.List<String> errors) {
        public ReloadOutcome {
            // Null-tolerant: an older node's JSON has no needsRestart.
            changes = changes == null ? java.util.List.of() : java.util.List.copyOf(changes);
            needsRestart = needsRestart == null ? java.util.List.of() : java.util.List.copyOf(needsRestart);
            errors = errors == null ? java.util.List.of() : java.util.List.copyOf(errors);
        }

        /** An outcome with nothing that needs a restart. */
        public ReloadOutcome(boolean applied, long generation, java.util.List<String> changes,
                             java.util.List<String> errors) {
            this(applied, generation, changes, java.util.List.of(), errors);
        }
    }

    // ---------------------------------------------------------------- run-time changes (HAProxy's runtime API)

    /** The largest weight {@link #setWeight} and {@link #addBackend} take (HAProxy's range, 0..256). */
    int MAX_RUNTIME_WEIGHT = 256;

    /**
     * Sets the weight of a backend of a VIP until a reload changes that VIP's backends (then the
     * config's or the source's weight is back); weight 0 takes no new connections (HAProxy
     * {@code set weight}).
     *
     * @return the backend after the change; completes exceptionally with
     *         {@link IllegalArgumentException} (no such VIP or backend) or {@link Refused}
     */
    default CompletableFuture<NodeView.BackendView> setWeight(String vip, String backend, int weight) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("run-time changes not supported"));
    }

    /**
     * Adds a backend to a VIP at run time ({@code origin} {@code runtime}); it is checked like any
     * other of the VIP's backends before it serves.
     *
     * @return the new backend; completes exceptionally as {@link #setWeight}
     */
    default CompletableFuture<NodeView.BackendView> addBackend(String vip, RuntimeBackend backend) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("run-time changes not supported"));
    }

    /**
     * Removes a static or run-time backend of a VIP: it leaves the pool, its open connections
     * finish. A discovered backend is refused (its source owns it).
     *
     * @return the backend as it was just before; completes exceptionally as {@link #setWeight}
     */
    default CompletableFuture<NodeView.BackendView> removeBackend(String vip, String backend) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("run-time changes not supported"));
    }

    /**
     * One page of the open TCP connections of a VIP (of one backend when {@code backend} is not
     * null), oldest first, starting after connection id {@code after} (0: from the start).
     *
     * @return completes exceptionally with {@link IllegalArgumentException} when the VIP or the
     *         backend does not exist
     */
    default CompletableFuture<ConnectionPage> connections(String vip, String backend, int limit, long after) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("connection listing not supported"));
    }

    /**
     * A backend to add at run time: an IP literal and port, a weight 0..{@value #MAX_RUNTIME_WEIGHT},
     * an optional locality ({@code region}, {@code zone}: null when not given) and priority level.
     */
    record RuntimeBackend(String address, int weight, String region, String zone, int priority) {
        public RuntimeBackend {
            java.util.Objects.requireNonNull(address, "address");
        }
    }

    /** One open connection as the admin API lists it. */
    record ConnectionView(long id, String client, String backend, java.time.Instant since, long ageMillis,
                          long bytesFromClient, long bytesToClient) {
    }

    /**
     * A page of connections, in id order: {@code matched} open ones after the cursor when the page
     * was taken (they come and go meanwhile), this page's {@code connections}, and {@code next},
     * the cursor for the next page (null at the end).
     */
    record ConnectionPage(String vip, String backend, int matched, java.util.List<ConnectionView> connections,
                          Long next) {
        public ConnectionPage {
            connections = java.util.List.copyOf(connections);
        }
    }

    /**
     * A run-time change the node will not make, and why; {@code kind} tells the admin API which
     * status it is (the value is bad: 400; it conflicts with what the node has: 409).
     */
    final class Refused extends RuntimeException {
        /** What is wrong with the request. */
        public enum Kind { INVALID, CONFLICT }

        private final Kind kind;

        public Refused(Kind kind, String message) {
            super(message, null, false, false);
            this.kind = java.util.Objects.requireNonNull(kind, "kind");
        }

        public Kind kind() {
            return kind;
        }
    }
}
