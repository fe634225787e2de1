package io.tandem.config;

/**
 * How the node writes its log lines (one event per line either way).
 * {@code LOGFMT}: {@code ts=… level=INFO logger=ControlLoop msg="config applied" why=reload …},
 * values quoted and escaped when they need it; {@code JSON}: one JSON object per line with the
 * same fields, numbers and booleans unquoted.
 */
public enum LogFormat {
    LOGFMT, JSON
}
