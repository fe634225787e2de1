package io.tandem.core.control;

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
    default java.util.Optional<Object> haView() {
        return java.util.Optional.empty();
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

    /** Result of a reload: applied (with a summary of what changed) or rejected with every error. */
    record ReloadOutcome(boolean applied, long generation, java.util.List<String> changes,
                         java.util.List<String> errors) {
        public ReloadOutcome {
            changes = java.util.List.copyOf(changes);
            errors = java.util.List.copyOf(errors);
        }
    }
}
