package io.tandem.discovery.zookeeper;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.config.HostPort;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.zookeeper.ZooKeeperSettings.Layout;
import java.nio.charset.StandardCharsets;

/**
 * Turns one instance znode into an {@link Endpoint}, or says why it cannot.
 *
 * <p>The Curator JSON is parsed here rather than through {@code JsonInstanceSerializer}: that
 * would need every registrant's payload class ({@code "@class"}) on our class path. Only
 * {@code address}, {@code port}, {@code sslPort} and {@code enabled} are read.
 */
final class InstanceParser {

    private static final ObjectMapper JSON = new ObjectMapper();

    private InstanceParser() {
    }

    /** The outcome for one znode. */
    sealed interface Parsed {
        record Ok(Endpoint endpoint) implements Parsed {
        }

        record Bad(String reason) implements Parsed {
        }
    }

    /**
     * @param fullPath the znode path including any namespace, used for the endpoint's origin
     * @param nodeName the last path segment (the instance id, or {@code host:port} in PLAIN)
     * @param data     the znode's data, possibly null or empty
     */
    static Parsed parse(Layout layout, boolean useSslPort, String fullPath, String nodeName, byte[] data) {
        String origin = "zookeeper:" + fullPath;
        return switch (layout) {
            case CURATOR -> parseCurator(useSslPort, origin, data);
            case PLAIN -> parsePlain(origin, nodeName, data);
        };
    }

    private static Parsed parseCurator(boolean useSslPort, String origin, byte[] data) {
        if (data == null || data.length == 0) {
            return new Parsed.Bad("empty data (expected a Curator ServiceInstance JSON)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(data);
        } catch (JsonProcessingException e) {
            return new Parsed.Bad("malformed JSON (" + firstLine(e.getOriginalMessage()) + ")");
        } catch (java.io.IOException e) {
            return new Parsed.Bad("unreadable data (" + e.getMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            return new Parsed.Bad("JSON is not an object (expected a Curator ServiceInstance)");
        }
        JsonNode address = root.get("address");
        if (address == null || !address.isTextual() || address.asText().isBlank()) {
            return new Parsed.Bad("address: " + address + " (expected a host name or IP address)");
        }
        String portField = useSslPort ? "sslPort" : "port";
        JsonNode port = root.get(portField);
        if (port == null || !port.canConvertToInt() || !port.isIntegralNumber()
                || port.intValue() < 1 || port.intValue() > 65535) {
            return new Parsed.Bad(portField + ": " + port + " (expected 1..65535)");
        }
        // Curator registrants set enabled=false to take an instance out of rotation without
        // unregistering it (e.g. before a deploy): existing connections may finish, new ones go
        // elsewhere, which is exactly DRAINING. Absent (Curator's default "compatible" writer
        // omits it, CURATOR-275) means enabled.
        JsonNode enabled = root.get("enabled");
        boolean draining = enabled != null && enabled.isBoolean() && !enabled.booleanValue();
        HostPort hp;
        try {
            hp = HostPort.of(address.asText().strip(), port.intValue());
        } catch (IllegalArgumentException e) {
            return new Parsed.Bad(e.getMessage());
        }
        return new Parsed.Ok(new Endpoint(hp, 1, locality(root.get("payload")), true, draining, origin));
    }

    /**
     * The fault domain a registrant put in its payload: a JSON object payload's {@code region},
     * {@code zone} and {@code rack} string fields (a Curator payload POJO with those fields
     * serializes exactly so, next to its {@code "@class"}). Anything else — no payload, a string
     * payload, other types, names that are not {@link io.tandem.config.Locality#NAME} — counts as
     * unknown, so the config's CIDR map can still place the instance.
     */
    static io.tandem.config.Locality locality(JsonNode payload) {
        if (payload == null || !payload.isObject()) {
            return io.tandem.config.Locality.UNKNOWN;
        }
        return io.tandem.config.Locality.of(name(payload.get("region")), name(payload.get("zone")),
                name(payload.get("rack")));
    }

    private static String name(JsonNode n) {
        return n != null && n.isTextual() && io.tandem.config.Locality.NAME.matcher(n.textValue()).matches()
                ? n.textValue() : null;
    }

    private static Parsed parsePlain(String origin, String nodeName, byte[] data) {
        String dataError = null;
        if (data != null && data.length > 0) {
            String text = new String(data, StandardCharsets.UTF_8).strip();
            if (!text.isEmpty()) {
                try {
                    return new Parsed.Ok(Endpoint.of(HostPort.parse(text), origin));
                } catch (IllegalArgumentException e) {
                    dataError = e.getMessage();
                }
            }
        }
        try {
            return new Parsed.Ok(Endpoint.of(HostPort.parse(nodeName), origin));
        } catch (IllegalArgumentException e) {
            return new Parsed.Bad("name " + e.getMessage() + (dataError == null ? "" : ", data " + dataError));
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unknown";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
