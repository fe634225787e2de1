package io.tandem.config;

/** Transport protocol of a VIP. */
public enum Protocol {
    TCP, UDP
}
