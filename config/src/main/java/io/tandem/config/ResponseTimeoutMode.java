package io.tandem.config;

/**
 * What a hung-backend response timeout measures (see {@link OutlierDetection#responseTimeout()}).
 * {@code FIRST_RESPONSE}: the client has sent bytes and the backend has sent nothing at all within
 * the timeout (fits request/response protocols whose client speaks first: HTTP, Redis, Postgres).
 * {@code EVERY_REQUEST}: the same, re-armed whenever the client sends after the backend answered
 * (keep-alive request/response traffic).
 */
public enum ResponseTimeoutMode {
    FIRST_RESPONSE, EVERY_REQUEST
}
