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

    /** Removes the address; removing an absent address is not an error. */
    void remove(String address) throws IOException;

    /** Sends one unsolicited announcement (gratuitous ARP) for an address this node holds. */
    void announce(String address) throws IOException;
}
