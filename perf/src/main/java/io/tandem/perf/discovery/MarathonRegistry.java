package io.tandem.perf.discovery;

import io.tandem.discovery.marathon.testing.FakeMarathon;
import io.tandem.discovery.marathon.testing.MarathonPayloads;

/**
 * The fake Marathon (discovery test-jar) with one host-networked app {@code /orders} and one
 * port; each trial's backend is a task {@code orders.t<trial>}. A change is made the way
 * Marathon makes it: the task list (the REST truth) is updated first, then a
 * {@code status_update_event} is written to the event stream, and the clock starts at that write.
 */
final class MarathonRegistry implements Registry {
    private static final String APP = "/orders";

    private final FakeMarathon marathon;

    MarathonRegistry() throws Exception {
        marathon = FakeMarathon.leader();
        marathon.putApp(MarathonPayloads.hostApp(APP, "[" + MarathonPayloads.portDef(10001, "tcp", "{}") + "]"));
    }

    @Override
    public String name() {
        return "marathon";
    }

    @Override
    public String discoveryYaml() {
        return """
                discovery:
                  marathon:
                    urls: [%s]
                """.formatted(marathon.baseUri());
    }

    @Override
    public String service() {
        return APP + "#0";
    }

    private static String taskId(int trial) {
        return "orders.t" + trial;
    }

    @Override
    public long add(int trial, IdBackend backend) {
        marathon.putTask(APP, MarathonPayloads.task(APP, taskId(trial), "TASK_RUNNING", "127.0.0.1", backend.port()));
        return marathon.emit("status_update_event",
                MarathonPayloads.statusUpdate(APP, taskId(trial), "TASK_RUNNING", "127.0.0.1", backend.port()));
    }

    @Override
    public long remove(int trial, IdBackend backend) {
        marathon.removeTask(APP, taskId(trial));
        return marathon.emit("status_update_event",
                MarathonPayloads.statusUpdate(APP, taskId(trial), "TASK_KILLED", "127.0.0.1", backend.port()));
    }

    @Override
    public void close() {
        marathon.close();
    }
}
