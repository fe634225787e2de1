/**
 * The HA pair: which node serves which VIP address, and how a survivor takes over a dead
 * peer's addresses. Depends on {@code config} (it runs on {@link io.tandem.config.HaConfig}) and
 * {@code sys} (its libc calls) only; {@code lb-core} wires it into the node. Here "vip" always
 * means a VIP's address ({@code vipAddress}): ownership moves per address, never per port.
 */
package io.tandem.ha;
