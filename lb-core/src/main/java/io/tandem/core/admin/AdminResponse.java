package io.tandem.core.admin;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.Map;

/**
 * A response before it becomes Netty objects: plain bytes, so a response computed on another
 * thread holds no buffer that could leak if the connection is gone when it is ready.
 */
record AdminResponse(int status, String contentType, byte[] body, Map<String, String> headers) {
    static final String JSON = "application/json; charset=utf-8";
    static final String TEXT = "text/plain; charset=utf-8";
    static final String PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";

    AdminResponse {
        headers = Map.copyOf(headers);
    }

    static AdminResponse text(int status, String text) {
        return new AdminResponse(status, TEXT, (text + "\n").getBytes(UTF_8), Map.of());
    }

    static AdminResponse json(int status, Object value) {
        try {
            byte[] body = AdminJson.MAPPER.writeValueAsBytes(value);
            byte[] withNewline = java.util.Arrays.copyOf(body, body.length + 1);
            withNewline[body.length] = '\n';
            return new AdminResponse(status, JSON, withNewline, Map.of());
        } catch (JsonProcessingException e) {
            return error(500, "cannot serialise response: " + e.getOriginalMessage());
        }
    }

    static AdminResponse error(int status, String reason) {
        return error(status, reason, Map.of());
    }

    static AdminResponse error(int status, String reason, Map<String, String> headers) {
        AdminResponse r = json(status, Map.of("error", reason));
        return new AdminResponse(r.status, r.contentType, r.body, headers);
    }
}
