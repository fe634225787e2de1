package io.tandem.ha;

import java.io.IOException;
import java.util.Collection;

/**
 * The self-fence: a dead-man's switch in the kernel that drops every packet (and ARP request)
 * for a VIP address unless this node renewed its right to it recently. A starved, frozen or
 * dead process renews nothing, so its kernel stops accepting the address by itself before a
 * peer can take it over; the address may stay on the interface, but nothing reaches it. The
 * HA control thread renews every heartbeat, up to the deadline {@link FenceDeadline} computes.
 * The real implementation is {@link NftFence} (an nftables set with per-element timeouts);
 * docs/ha.md "Self-fencing" has the design and the measurements.
 *
 * <p>Every method blocks briefly (one netlink round trip) and is called on the HA control
 * thread, never on an event loop.
 */
public interface KernelFence {
    /** No fence: nothing is filtered (tests in one namespace, {@code ha.self_fence: off}). */
    KernelFence OFF = new KernelFence() {
        @Override
        public void install(Collection<String> managed) {
        }

        @Override
        public void renew(Collection<String> addresses, long untilNanos) {
        }

        @Override
        public void revoke(String address) {
        }

        @Override
        public void close() {
        }

        @Override
        public boolean active() {
            return false;
        }

        @Override
        public String describe() {
            return "off";
        }
    };

    /**
     * Installs the fence for {@code managed} (every VIP address of the group): from now on
     * packets to any of them are dropped until {@link #renew} lets them in. Replaces what a
     * previous run left behind.
     */
    void install(Collection<String> managed) throws IOException;

    /**
     * Lets packets to {@code addresses} in until {@code untilNanos} (the {@link System#nanoTime()}
     * clock; at least 1 ms ahead), in one transaction; the other addresses are left as they are.
     * The end is absolute: a call that reaches the kernel late (the thread was descheduled after
     * computing the deadline) does not let packets in any longer.
     */
    void renew(Collection<String> addresses, long untilNanos) throws IOException;

    /** Drops packets to {@code address} again at once (a release). */
    void revoke(String address) throws IOException;

    /** Removes the fence (a clean shutdown: the addresses are gone anyway). */
    void close();

    /** Whether packets are actually filtered. */
    boolean active();

    /** What the fence is, for logs and the API (e.g. {@code nftables inet/arp tandem_fence_lb1}). */
    String describe();
}
