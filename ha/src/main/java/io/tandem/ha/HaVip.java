package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * One VIP <em>address</em> whose ownership the HA group arbitrates (several VIPs of the config
 * may share one address: ownership is per address, never per port). The preferred owner is
 * the node that claims the address when it is free; without one, addresses are spread over the
 * nodes deterministically (see {@link HaSettings#preferredOwners()}).
 */
public record HaVip(String address, Optional<String> preferredOwner) {
    public HaVip {
        requireNonNull(address, "address");
        requireNonNull(preferredOwner, "preferredOwner");
        if (address.isBlank() || address.contains("/")) {
            throw new IllegalArgumentException("address: \"" + address + "\" (expected an IP address without prefix)");
        }
    }

    public static HaVip of(String address) {
        return new HaVip(address, Optional.empty());
    }

    public static HaVip of(String address, String preferredOwner) {
        return new HaVip(address, Optional.of(preferredOwner));
    }
}
