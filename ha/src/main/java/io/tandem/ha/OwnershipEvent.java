package io.tandem.ha;

/**
 * One ownership change of this node, as logged and shown in {@link HaView}. Durations are -1
 * where they do not apply.
 *
 * @param address the VIP address
 * @param acquired true when this node started serving it, false when it stopped
 * @param epoch the lease epoch held (acquired) or given up (released)
 * @param cause why
 * @param detail free text: the peer taken over from, the epoch that fenced us, ...
 * @param atEpochMillis wall-clock time the address was added or removed
 * @param detectMs takeover only: silence of the dead peer before its link was declared lost
 * @param decideMs takeover only: from link loss to the committed lease (probe + ZooKeeper claim)
 * @param addressMs time the {@link AddressManager} took to add or remove the address
 */
public record OwnershipEvent(String address, boolean acquired, long epoch, OwnershipCause cause, String detail,
                             long atEpochMillis, long detectMs, long decideMs, long addressMs) {
}
