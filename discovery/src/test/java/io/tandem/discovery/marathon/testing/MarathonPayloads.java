package io.tandem.discovery.marathon.testing;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Marathon JSON for tests. The {@code REFERENCE_*} constants are copied verbatim from Marathon's
 * docs and marathon-lb's captured Marathon 1.5 response; the builders produce the same shapes
 * with chosen values.
 */
public final class MarathonPayloads {
    private MarathonPayloads() {
    }

    /** A real Marathon 1.5 capture (marathon-lb tests/marathon15_apps.json): bridge mode. */
    public static final String REFERENCE_APPS = """
            {"apps":[{"id":"/pywebserver","backoffFactor":1.15,"backoffSeconds":1,"cmd":"echo \\"host $HOST and port $PORT\\" > index.html && python -m http.server 80",
             "container":{"type":"DOCKER","docker":{"forcePullImage":false,"image":"python:3","parameters":[],"privileged":false},"volumes":[],
              "portMappings":[{"containerPort":80,"hostPort":0,"labels":{},"name":"test","protocol":"tcp","servicePort":10101}]},
             "cpus":0.1,"disk":0,"executor":"","instances":1,"labels":{"HAPROXY_GROUP":"external","HAPROXY_0_VHOST":"myvhost.com"},
             "maxLaunchDelaySeconds":3600,"mem":128,"gpus":0,"networks":[{"mode":"container/bridge"}],"requirePorts":false,
             "upgradeStrategy":{"maximumOverCapacity":1,"minimumHealthCapacity":1},"version":"2017-07-19T17:34:41.967Z",
             "versionInfo":{"lastScalingAt":"2017-07-19T17:34:41.967Z","lastConfigChangeAt":"2017-07-19T17:34:41.967Z"},
             "killSelection":"YOUNGEST_FIRST","unreachableStrategy":{"inactiveAfterSeconds":300,"expungeAfterSeconds":600},
             "tasksStaged":0,"tasksRunning":1,"tasksHealthy":0,"tasksUnhealthy":0,"deployments":[],
             "tasks":[{"ipAddresses":[{"ipAddress":"172.17.0.2","protocol":"IPv4"}],"stagedAt":"2017-07-19T17:34:43.039Z","state":"TASK_RUNNING",
              "ports":[1565],"startedAt":"2017-07-19T17:35:15.654Z","version":"2017-07-19T17:34:41.967Z",
              "id":"pywebserver.8cad6a69-6ca8-11e7-beb2-0e2beceebfcc","appId":"/pywebserver","slaveId":"db7b40e2-791c-445f-b373-183e2a648a86-S1","host":"10.0.2.148"}]}]}
            """;

    /** The constructed healthCheckResults entry from the reference (alive=true). */
    public static final String REFERENCE_HEALTH_RESULT = """
            {"alive":true,"consecutiveFailures":0,"firstSuccess":"2017-07-19T17:35:20.001Z","lastFailure":null,"lastSuccess":"2017-07-19T17:40:20.002Z","lastFailureCause":null,"instanceId":"pywebserver.marathon-8cad6a69-6ca8-11e7-beb2-0e2beceebfcc"}""";

    /** Documented status_update_event (docs/docs/event-bus.md). */
    public static final String REFERENCE_STATUS_UPDATE = """
            {"eventType":"status_update_event","timestamp":"2014-03-01T23:29:30.158Z","slaveId":"20140909-054127-177048842-5050-1494-0","taskId":"my-app_0-1396592784349","taskStatus":"TASK_RUNNING","appId":"/my-app","host":"slave-1234.acme.org","ports":[31372],"version":"2014-04-04T06:26:23.051Z"}""";

    /** Documented api_post_event. */
    public static final String REFERENCE_API_POST = """
            {"eventType":"api_post_event","timestamp":"2014-03-01T23:29:30.158Z","clientIp":"0:0:0:0:0:0:0:1","uri":"/v2/apps/my-app","appDefinition":{"args":[],"backoffFactor":1.15,"backoffSeconds":1,"cmd":"sleep 30","constraints":[],"container":null,"cpus":0.2,"dependencies":[],"disk":0.0,"env":{},"executor":"","healthChecks":[],"id":"/my-app","instances":2,"mem":32.0,"ports":[10001],"requirePorts":false,"upgradeStrategy":{"minimumHealthCapacity":1.0},"fetch":[],"user":null,"version":"2014-09-09T05:57:50.866Z"}}""";

    /** Documented app_terminated_event. */
    public static final String REFERENCE_APP_TERMINATED = """
            {"eventType":"app_terminated_event","timestamp":"2014-03-01T23:29:30.158Z","appId":"/my-app"}""";

    /** Documented health_status_changed_event (alive=true). */
    public static final String REFERENCE_HEALTH_STATUS_CHANGED = """
            {"eventType":"health_status_changed_event","timestamp":"2014-03-01T23:29:30.158Z","appId":"/my-app","instanceId":"my-app.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c","version":"2014-04-04T06:26:23.051Z","alive":true}""";

    /** Documented deployment_success (no plan: only the id). */
    public static final String REFERENCE_DEPLOYMENT_SUCCESS = """
            {"eventType":"deployment_success","timestamp":"2014-03-01T23:29:30.158Z","id":"867ed450-f6a8-4d33-9b0e-e11c5513990b"}""";

    /** A host-networking app; {@code portDefinitions} is a JSON array text. */
    public static String hostApp(String id, String portDefinitions) {
        return "{\"id\":\"" + id + "\",\"instances\":1,\"networks\":[{\"mode\":\"host\"}],\"portDefinitions\":"
                + portDefinitions + ",\"tasks\":[]}";
    }

    /** A container/bridge app with {@code container.portMappings}. */
    public static String bridgeApp(String id, String portMappings) {
        return "{\"id\":\"" + id + "\",\"instances\":1,\"networks\":[{\"mode\":\"container/bridge\"}],"
                + "\"container\":{\"type\":\"DOCKER\",\"docker\":{\"image\":\"nginx\"},\"portMappings\":" + portMappings
                + "},\"tasks\":[]}";
    }

    /** A container (overlay) app. */
    public static String overlayApp(String id, String portMappings) {
        return "{\"id\":\"" + id + "\",\"instances\":1,\"networks\":[{\"mode\":\"container\",\"name\":\"dcos\"}],"
                + "\"container\":{\"type\":\"MESOS\",\"portMappings\":" + portMappings + "},\"tasks\":[]}";
    }

    /** One portDefinitions entry; {@code labels} is a JSON object text. */
    public static String portDef(int port, String protocol, String labels) {
        return "{\"port\":" + port + ",\"protocol\":\"" + protocol + "\",\"name\":\"p" + port + "\",\"labels\":" + labels + "}";
    }

    /** One portMappings entry. */
    public static String portMapping(int containerPort, String protocol, String labels) {
        return "{\"containerPort\":" + containerPort + ",\"hostPort\":0,\"servicePort\":10000,\"protocol\":\"" + protocol
                + "\",\"labels\":" + labels + "}";
    }

    /** A task with host ports (host and bridge modes). */
    public static String task(String appId, String taskId, String state, String host, int... ports) {
        return "{\"id\":\"" + taskId + "\",\"appId\":\"" + appId + "\",\"host\":\"" + host + "\",\"state\":\"" + state
                + "\",\"ports\":" + ports(ports) + ",\"ipAddresses\":[{\"ipAddress\":\"172.17.0.9\",\"protocol\":\"IPv4\"}],"
                + "\"slaveId\":\"agent-1\",\"stagedAt\":\"2017-07-19T17:34:43.039Z\",\"version\":\"2017-07-19T17:34:41.967Z\"}";
    }

    /** A task on an overlay network: its own IP, no host ports. */
    public static String overlayTask(String appId, String taskId, String state, String ip) {
        return "{\"id\":\"" + taskId + "\",\"appId\":\"" + appId + "\",\"host\":\"10.0.0.7\",\"state\":\"" + state
                + "\",\"ports\":[],\"ipAddresses\":[{\"ipAddress\":\"" + ip + "\",\"protocol\":\"IPv4\"}]}";
    }

    /** A status_update_event in the shape the current Marathon writes (message and ipAddresses included). */
    public static String statusUpdate(String appId, String taskId, String status, String host, int... ports) {
        return "{\"slaveId\":\"agent-1\",\"taskId\":\"" + taskId + "\",\"taskStatus\":\"" + status + "\",\"message\":\"\","
                + "\"appId\":\"" + appId + "\",\"host\":\"" + host + "\",\"ipAddresses\":[{\"ipAddress\":\"172.17.0.9\","
                + "\"protocol\":\"IPv4\"}],\"ports\":" + ports(ports) + ",\"version\":\"2017-07-19T17:34:41.967Z\","
                + "\"eventType\":\"status_update_event\",\"timestamp\":\"2017-07-19T17:35:15.654Z\"}";
    }

    public static String instanceHealth(String instanceId, String appId, Boolean healthy) {
        return "{\"instanceId\":\"" + instanceId + "\",\"runSpecVersion\":\"2014-03-01T23:29:30.158Z\",\"healthy\":" + healthy
                + ",\"runSpecId\":\"" + appId + "\",\"timestamp\":\"2014-03-01T23:29:30.158Z\","
                + "\"eventType\":\"instance_health_changed_event\"}";
    }

    private static String ports(int... ports) {
        return Arrays.stream(ports).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]"));
    }

    /**
     * A host-networking app with app {@code labels} (a JSON object text, e.g. Marathon-LB's) and
     * {@code healthChecks} (a JSON array text); port definitions carry service ports.
     */
    public static String labelledHostApp(String id, String labels, String healthChecks, String portDefinitions) {
        return "{\"id\":\"" + id + "\",\"instances\":1,\"labels\":" + labels + ",\"healthChecks\":" + healthChecks
                + ",\"networks\":[{\"mode\":\"host\"}],\"portDefinitions\":" + portDefinitions + ",\"tasks\":[]}";
    }

    /** One {@code portMappings} entry with its service port (container and bridge modes). */
    public static String portMapping(int containerPort, int servicePort, String protocol, String labels) {
        return "{\"containerPort\":" + containerPort + ",\"hostPort\":0,\"servicePort\":" + servicePort
                + ",\"protocol\":\"" + protocol + "\",\"labels\":" + labels + "}";
    }

    /**
     * One Marathon health check ({@code AppHealthCheck}) as Marathon documents it, e.g.
     * {@code healthCheck("HTTP", 0, "/health", 1, 1, 1)}.
     */
    public static String healthCheck(String protocol, int portIndex, String path, int intervalSeconds,
                                     int timeoutSeconds, int maxConsecutiveFailures) {
        return "{\"protocol\":\"" + protocol + "\",\"portIndex\":" + portIndex
                + (path == null ? "" : ",\"path\":\"" + path + "\"") + ",\"gracePeriodSeconds\":5,\"intervalSeconds\":"
                + intervalSeconds + ",\"timeoutSeconds\":" + timeoutSeconds + ",\"maxConsecutiveFailures\":"
                + maxConsecutiveFailures + ",\"delaySeconds\":15}";
    }

    /**
     * Marathon's documented health check examples (docs/docs/health-checks.md: HTTP, MESOS_HTTP,
     * HTTPS, TCP, COMMAND, field for field, compacted) plus a MESOS_TCP one constructed from the RAML (no
     * documented example), one per protocol.
     */
    public static final String REFERENCE_HEALTH_CHECKS = """
            [{"protocol":"HTTP","path":"/api/health","portIndex":0,"gracePeriodSeconds":300,"intervalSeconds":60,"timeoutSeconds":20,"maxConsecutiveFailures":3,"ignoreHttp1xx":false},
             {"protocol":"MESOS_HTTP","path":"/api/health","portIndex":0,"gracePeriodSeconds":300,"intervalSeconds":60,"timeoutSeconds":20,"maxConsecutiveFailures":3},
             {"protocol":"HTTPS","path":"/api/health","portIndex":0,"gracePeriodSeconds":300,"intervalSeconds":60,"timeoutSeconds":20,"maxConsecutiveFailures":3,"ignoreHttp1xx":false},
             {"portIndex":0,"protocol":"TCP","gracePeriodSeconds":300,"intervalSeconds":60,"timeoutSeconds":20,"maxConsecutiveFailures":0},
             {"protocol":"MESOS_TCP","portIndex":0,"gracePeriodSeconds":300,"intervalSeconds":60,"timeoutSeconds":20,"maxConsecutiveFailures":3},
             {"protocol":"COMMAND","command":{"value":"curl -f -X GET http://$HOST:$PORT0/health"},"gracePeriodSeconds":300,"intervalSeconds":60,"timeoutSeconds":20,"maxConsecutiveFailures":3}]""";
}
