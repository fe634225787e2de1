package io.tandem.perf.discovery;

/**
 * One discovery source under test, seen from the registrant's side: the config that points a
 * node at it, and the writes that register or deregister a backend. {@link #add} and
 * {@link #remove} return {@link System#nanoTime()} taken immediately before the write that makes
 * the change visible to the node (the ZooKeeper request, or the first byte of the SSE event).
 */
sealed interface Registry extends AutoCloseable permits ZooKeeperRegistry, MarathonRegistry {

    /** Name in the report: {@code zookeeper} or {@code marathon}. */
    String name();

    /** The {@code discovery:} section (indented as a top-level key) for the node's YAML. */
    String discoveryYaml();

    /** The VIP's {@code service:} value. */
    String service();

    long add(int trial, IdBackend backend) throws Exception;

    long remove(int trial, IdBackend backend) throws Exception;
}
