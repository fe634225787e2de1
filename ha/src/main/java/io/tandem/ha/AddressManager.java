package io.tandem.ha;

import java.io.IOException;

/**
 * Puts a VIP address on this host and announces it. The real implementation
 * ({@link IpAddressManager}) runs {@code ip addr} and sends gratuitous ARP; tests and non-root
 * runs record the calls. Every method blocks, is idempotent and is called on a virtual thread,
 * never on an event loop or the HA control thread.
 */
public interface AddressManager {
    /** Adds the address (as a /32 or /128) so the pre-bound listeners start receiving. */
    void add(String address) throws IOException;

    /**
     * Adds the address, or renews it when present, so that the kernel removes it by itself
     * {@code lifetime} after the last call (a process that died or froze stops renewing). The
     * default ignores the lifetime: for managers without kernel-side expiry.
     */
    default void addWithLifetime(String address, java.time.Duration lifetime) throws IOException {
        add(address);
    }

    /** Removes the address; removing an absent address is not an error. */
    void remove(String address) throws IOException;

    /**
     * Loads whatever the first takeover would otherwise load (native calls, classes), so that a
     * node that has served nothing yet is as fast as a warm one. Called once at start; must not
     * change any address. The default does nothing.
     */
    default void warmUp() {
    }

    /** Sends one unsolicited announcement (gratuitous ARP) for an address this node holds. */
    void announce(String address) throws IOException;
}
