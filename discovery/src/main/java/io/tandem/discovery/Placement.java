package io.tandem.discovery;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * How the scheduler that runs an endpoint places its instances, as far as the source knows:
 * Marathon's app id and the app's {@code constraints}, each written {@code field:OPERATOR[:value]}
 * ({@code hostname:UNIQUE}, {@code @zone:GROUP_BY:3}). The node's posture report reads it to tell
 * whether the app is spread over hosts or zones at all (docs/admin-api.md "/api/posture").
 *
 * @param app         the app the endpoint is an instance of ({@code /orders})
 * @param constraints the app's constraints as Marathon sent them; empty = none
 */
public record Placement(String app, List<String> constraints) {
    public Placement {
        requireNonNull(app, "app");
        constraints = List.copyOf(requireNonNull(constraints, "constraints"));
    }
}
