package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.Locality;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One task as far as balancing cares.
 *
 * @param instanceId     the instance id health events use ({@code app.instance-<uuid>})
 * @param healthy        Marathon's own health: false if any {@code healthCheckResults[].alive} is
 *                       false, true if all are true, empty when the app has no checks (yet)
 * @param backends       address per app port index, resolved for the app's network mode; an index
 *                       is missing when the task carries no usable address for it
 * @param locality       the agent's Mesos fault domain, {@code region} and {@code zone} of the task
 *                       JSON (Marathon 1.6+, from the agent's domain); the task JSON carries no
 *                       agent attributes, so there is no attribute fallback here
 * @param host           agent host (kept for patching from events)
 * @param ports          host ports (kept for patching)
 * @param ipAddresses    task IPs (kept for patching)
 */
record MarathonTask(String id, String instanceId, TaskState state, Optional<Boolean> healthy,
                    Locality locality, Map<Integer, HostPort> backends, String host,
                    List<Integer> ports, List<String> ipAddresses) {
    MarathonTask {
        requireNonNull(id, "id");
        requireNonNull(instanceId, "instanceId");
        requireNonNull(state, "state");
        requireNonNull(healthy, "healthy");
        requireNonNull(locality, "locality");
        backends = Map.copyOf(requireNonNull(backends, "backends"));
        requireNonNull(host, "host");
        ports = List.copyOf(requireNonNull(ports, "ports"));
        ipAddresses = List.copyOf(requireNonNull(ipAddresses, "ipAddresses"));
    }

    /** The agent's zone, when Marathon reports one. */
    Optional<String> zone() {
        return locality.zone();
    }

    /**
     * Instance ids of 1.5+ task ids ({@code app.instance-<uuid>._app.<incarnation>}); older task
     * ids ({@code app.<uuid>}, {@code app.marathon-<uuid>}) are their own instance id.
     */
    static String instanceIdOf(String taskId) {
        int i = taskId.indexOf("._app.");
        return i > 0 ? taskId.substring(0, i) : taskId;
    }
}
