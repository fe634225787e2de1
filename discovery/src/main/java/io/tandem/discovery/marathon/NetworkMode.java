package io.tandem.discovery.marathon;

/**
 * An app's networking, which decides where a task's backend address comes from (mirrors
 * marathon-lb {@code get_task_ip_and_ports}).
 */
enum NetworkMode {
    /** {@code host}: agent host + {@code task.ports[i]}, ports from {@code portDefinitions}. */
    HOST,
    /** {@code container/bridge} (legacy docker BRIDGE): agent host + the mapped host port {@code task.ports[i]}. */
    BRIDGE,
    /** {@code container} overlay (legacy docker USER, IP-per-task): {@code task.ipAddresses[0]} + containerPort. */
    CONTAINER
}
