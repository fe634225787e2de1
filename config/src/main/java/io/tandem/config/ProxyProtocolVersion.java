package io.tandem.config;

/** PROXY protocol header sent to backends so they see the client's address. */
public enum ProxyProtocolVersion {
    NONE, V1, V2
}
