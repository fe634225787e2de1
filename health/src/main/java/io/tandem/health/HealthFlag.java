package io.tandem.health;

/**
 * One reason a backend may not take new connections. A backend's health is a <em>set</em> of
 * these, each set and cleared by exactly one subsystem (Envoy's model), so one subsystem can
 * never undo another's verdict: an operator's drain survives a passing check, and a failing
 * check survives an operator's enable.
 */
public enum HealthFlag {
    /** Set and cleared by the active checker (fall / rise). */
    FAILED_ACTIVE_CHECK("active check failing"),
    /** Set by passive outlier detection on live traffic; cleared when its ejection ends. */
    EJECTED_PASSIVE("ejected by passive detection"),
    /** Operator drain or Marathon TASK_KILLING: no new connections, existing ones finish. */
    DRAINING("draining"),
    /** Operator maintenance: out of rotation until enabled again. */
    DISABLED("disabled by operator"),
    /** The discovery source says the backend is unhealthy (e.g. Marathon health false). */
    UNHEALTHY_IN_SOURCE("unhealthy in discovery source"),
    /** Newly added to a VIP with an active check, not yet checked. */
    PENDING_FIRST_CHECK("waiting for first check"),
    /**
     * A backend written as a host name that has no address yet, or no longer has one (NXDOMAIN, no
     * record, or no answer before any good one): held out of every pool, panic included, with the
     * reason. Set and cleared by the node's resolver of backend names.
     */
    UNRESOLVED("host name does not resolve"),
    /**
     * Set by the data path's self-loop detection: the backend leads back into this node (the VIP
     * itself, or a VIP that leads back to it), so it can never serve this VIP. Never routed, not
     * even in panic; it goes with the backend (remove or fix the address and reload).
     */
    SELF_LOOP("proxies back into this node (self-loop)"),
    /**
     * The backend's agent (HAProxy {@code agent-check}) said {@code down}, {@code fail} or
     * {@code stopped}; cleared when it says {@code up}. Set and cleared by the agent check only.
     */
    AGENT_DOWN("agent reports down"),
    /**
     * The agent said {@code drain}: no new connections, existing ones finish (no deadline cuts them,
     * as in HAProxy); cleared when it says {@code ready} (or {@code maint}). Agent check only.
     */
    AGENT_DRAIN("agent reports drain"),
    /** The agent said {@code maint}: out of rotation until it says {@code ready}. Agent check only. */
    AGENT_MAINT("agent reports maintenance");

    private final String description;

    HealthFlag(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
