package io.tandem.ha;

/** This node's ZooKeeper connection as the HA logic sees it (Curator states, folded). */
public enum ZkState {
    /** The client has not connected yet. */
    NOT_STARTED,
    /** Connected with a live session (Curator CONNECTED or RECONNECTED). */
    CONNECTED,
    /** Connection lost, session possibly alive (Curator SUSPENDED or READ_ONLY). */
    SUSPENDED,
    /** Session expired or presumed expired (Curator LOST). */
    LOST
}
