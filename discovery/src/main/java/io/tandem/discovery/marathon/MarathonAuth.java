package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Credentials sent on every Marathon request, including the one redirect to the leader (the way
 * marathon-lb sends {@code UNRESTRICTED_AUTH}). {@code toString} never prints the secret.
 */
public sealed interface MarathonAuth {

    /** The value of the {@code Authorization} header. */
    String headerValue();

    /** HTTP basic authentication. */
    record Basic(String user, String password) implements MarathonAuth {
        public Basic {
            requireNonNull(user, "user");
            requireNonNull(password, "password");
            if (user.isEmpty() || user.indexOf(':') >= 0) {
                throw new IllegalArgumentException("user: \"" + user + "\" (expected non-empty, without ':')");
            }
        }

        @Override
        public String headerValue() {
            return "Basic " + Base64.getEncoder()
                    .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String toString() {
            return "Basic[user=" + user + ", password=***]";
        }
    }

    /** A bearer token (DC/OS ACS token, or anything the Marathon authenticator plugin accepts). */
    record Bearer(String token) implements MarathonAuth {
        public Bearer {
            requireNonNull(token, "token");
            if (token.isBlank()) {
                throw new IllegalArgumentException("token: \"\" (expected a non-blank token)");
            }
        }

        @Override
        public String headerValue() {
            return "Bearer " + token;
        }

        @Override
        public String toString() {
            return "Bearer[token=***]";
        }
    }
}
