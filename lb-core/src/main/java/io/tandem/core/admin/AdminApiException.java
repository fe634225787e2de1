package io.tandem.core.admin;

/**
 * The admin API could not be reached or did not answer as expected. The message is written for
 * the operator running {@code tandem status}: it says where, what happened and, when obvious,
 * what to check.
 */
public final class AdminApiException extends RuntimeException {
    private final int status;

    AdminApiException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The HTTP status the API answered with, or 0 when it could not be reached. */
    public int status() {
        return status;
    }
}
