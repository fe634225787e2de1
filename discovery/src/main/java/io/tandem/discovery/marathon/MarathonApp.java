package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One Marathon app: how its tasks are addressed, its ports, and its tasks by id. Immutable. */
record MarathonApp(String id, NetworkMode mode, List<AppPort> ports, Map<String, MarathonTask> tasks) {
    MarathonApp {
        requireNonNull(id, "id");
        requireNonNull(mode, "mode");
        ports = List.copyOf(requireNonNull(ports, "ports"));
        tasks = Map.copyOf(requireNonNull(tasks, "tasks"));
    }

    MarathonApp withTask(MarathonTask task) {
        Map<String, MarathonTask> copy = new HashMap<>(tasks);
        copy.put(task.id(), task);
        return new MarathonApp(id, mode, ports, copy);
    }

    MarathonApp withoutTask(String taskId) {
        if (!tasks.containsKey(taskId)) {
            return this;
        }
        Map<String, MarathonTask> copy = new HashMap<>(tasks);
        copy.remove(taskId);
        return new MarathonApp(id, mode, ports, copy);
    }
}
