package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One Marathon app: how its tasks are addressed, its ports, labels, Marathon health checks and
 * tasks by id. Immutable.
 *
 * @param definition the app as Marathon last sent it, without {@code tasks} (what a persisted
 *                   snapshot writes back, so a restart re-reads it through the same parser);
 *                   never mutated
 */
record MarathonApp(String id, NetworkMode mode, List<AppPort> ports, Map<String, MarathonTask> tasks,
                   Map<String, String> labels, List<MarathonHealthCheck> healthChecks, ObjectNode definition) {
    MarathonApp {
        requireNonNull(id, "id");
        requireNonNull(mode, "mode");
        ports = List.copyOf(requireNonNull(ports, "ports"));
        tasks = Map.copyOf(requireNonNull(tasks, "tasks"));
        labels = Map.copyOf(requireNonNull(labels, "labels"));
        healthChecks = List.copyOf(requireNonNull(healthChecks, "healthChecks"));
        requireNonNull(definition, "definition");
    }

    MarathonApp withTask(MarathonTask task) {
        Map<String, MarathonTask> copy = new HashMap<>(tasks);
        copy.put(task.id(), task);
        return new MarathonApp(id, mode, ports, copy, labels, healthChecks, definition);
    }

    MarathonApp withoutTask(String taskId) {
        if (!tasks.containsKey(taskId)) {
            return this;
        }
        Map<String, MarathonTask> copy = new HashMap<>(tasks);
        copy.remove(taskId);
        return new MarathonApp(id, mode, ports, copy, labels, healthChecks, definition);
    }
}
