/**
 * The HA pair: which node serves which VIP address, and how a survivor takes over a dead
 * peer's addresses. Depends on {@code config} only; {@code lb-core} wires it into the node.
 */
package io.tandem.ha;
