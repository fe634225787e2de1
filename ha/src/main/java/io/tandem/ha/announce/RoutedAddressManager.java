package io.tandem.ha.announce;

import static java.util.Objects.requireNonNull;

import io.tandem.ha.AddressManager;
import java.io.IOException;
import java.time.Duration;

/**
 * The address manager of {@code ha.announce: {mode: bgp}}: the address goes on the VIP interface
 * (a loopback) exactly as in ARP mode — the kernel must hold it to accept the packets — and there
 * is nothing to send: BIRD's {@code direct} protocol sees the address appear or go over netlink
 * and announces or withdraws it by itself. A gratuitous ARP on a loopback would be noise.
 */
public final class RoutedAddressManager implements AddressManager {
    private final AddressManager kernel;

    /** {@code kernel} adds and removes the address on the VIP interface ({@code IpAddressManager}). */
    public RoutedAddressManager(AddressManager kernel) {
        this.kernel = requireNonNull(kernel, "kernel");
    }

    @Override
    public void add(String address) throws IOException {
        kernel.add(address);
    }

    @Override
    public void addWithLifetime(String address, Duration lifetime) throws IOException {
        kernel.addWithLifetime(address, lifetime);
    }

    @Override
    public void remove(String address) throws IOException {
        kernel.remove(address);
    }

    @Override
    public void warmUp() {
        kernel.warmUp();
    }

    @Override
    public void announce(String address) {
        // BIRD announces: see the class comment
    }
}
