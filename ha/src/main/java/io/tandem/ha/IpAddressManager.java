package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.sys.Errno;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real {@link AddressManager} for Linux: the equivalent of {@code ip addr add|del ADDR/32 dev IF}
 * (/128 with {@code nodad} for IPv6) as one netlink request ({@link NetlinkAddress}), falling back
 * to spawning {@code ip} when netlink cannot be used, and gratuitous ARP through an {@code AF_PACKET} socket (FFM), falling
 * back to {@code arping -U} when the raw socket cannot be used. Needs root or CAP_NET_ADMIN +
 * CAP_NET_RAW. IPv6 addresses are announced with an unsolicited neighbour advertisement
 * ({@link NeighborAdvertisement}, same raw socket, no fallback tool).
 */
public final class IpAddressManager implements AddressManager {
    private static final Logger log = LoggerFactory.getLogger(IpAddressManager.class);
    private static final long COMMAND_TIMEOUT_MS = 5_000;

    private final String iface;
    private final List<String> netnsPrefix;
    private volatile boolean ffmFailed;
    private volatile boolean netlinkFailed;

    /** Manages addresses on {@code interfaceName} in this process's network namespace. */
    public IpAddressManager(String interfaceName) {
        this(interfaceName, List.of());
    }

    /** {@code commandPrefix} is prepended to every command (e.g. {@code ip netns exec NS}); tests use it. */
    IpAddressManager(String interfaceName, List<String> commandPrefix) {
        this.iface = requireNonNull(interfaceName, "interfaceName");
        this.netnsPrefix = List.copyOf(commandPrefix);
    }

    @Override
    public void add(String address) throws IOException {
        if (viaNetlink(() -> NetlinkAddress.add(iface, address), Errno.EEXIST)) {
            return;
        }
        Result r = run(command("ip", "addr", "add", prefixed(address), "dev", iface, v6(address) ? "nodad" : null));
        if (r.code != 0 && !r.output.contains("File exists") && !r.output.contains("already assigned")) {
            throw new IOException("ip addr add " + prefixed(address) + " dev " + iface + ": exit " + r.code + " "
                    + r.output.trim());
        }
    }

    @Override
    public void addWithLifetime(String address, java.time.Duration lifetime) throws IOException {
        int seconds = (int) Math.max(1, lifetime.toSeconds());
        if (viaNetlink(() -> NetlinkAddress.addWithLifetime(iface, address, seconds), -1)) {
            return;
        }
        Result r = run(command("ip", "addr", "replace", prefixed(address), "dev", iface, "valid_lft",
                seconds + "sec", "preferred_lft", seconds + "sec", v6(address) ? "nodad" : null));
        if (r.code != 0) {
            throw new IOException("ip addr replace " + prefixed(address) + " dev " + iface + " valid_lft " + seconds
                    + "sec: exit " + r.code + " " + r.output.trim());
        }
    }

    @Override
    public void remove(String address) throws IOException {
        if (viaNetlink(() -> NetlinkAddress.remove(iface, address), Errno.EADDRNOTAVAIL)) {
            return;
        }
        Result r = run(command("ip", "addr", "del", prefixed(address), "dev", iface));
        boolean absent = r.output.contains("Cannot assign requested address") || r.output.contains("Address not found");
        if (r.code != 0 && !absent) {
            throw new IOException("ip addr del " + prefixed(address) + " dev " + iface + ": exit " + r.code + " "
                    + r.output.trim());
        }
    }

    private interface NetlinkCall {
        void run() throws IOException;
    }

    /**
     * Runs {@code call} unless netlink is off; true when it is done (including the kernel
     * answering {@code doneErrno}: the idempotent case), false to fall back to {@code ip}. A kernel
     * refusal is the caller's answer and is thrown; any other failure turns netlink off for good.
     */
    private boolean viaNetlink(NetlinkCall call, int doneErrno) throws IOException {
        if (!netlink()) {
            return false;
        }
        try {
            call.run();
            return true;
        } catch (NetlinkAddress.KernelError e) {
            if (e.errno == doneErrno) {
                return true;
            }
            throw e;
        } catch (IOException | RuntimeException | LinkageError e) {
            netlinkFailed(e);
            return false;
        }
    }

    @Override
    public void warmUp() {
        if (netnsPrefix.isEmpty()) {
            GratuitousArp.warmUp(); // the address calls are warmed by the start-up sweep (a netlink delete)
        }
    }

    @Override
    public void announce(String address) throws IOException {
        if (v6(address)) {
            // No fallback tool: Debian's arping is IPv4 only, and ndisc6 cannot send an unsolicited NA.
            if (!netnsPrefix.isEmpty()) {
                throw new IOException("neighbour advertisement for " + address + ": the raw socket is in this process's "
                        + "namespace, not the one of " + String.join(" ", netnsPrefix));
            }
            NeighborAdvertisement.send(iface, address);
            return;
        }
        if (!ffmFailed && netnsPrefix.isEmpty()) {
            try {
                GratuitousArp.send(iface, address);
                return;
            } catch (IOException | RuntimeException | LinkageError e) {
                ffmFailed = true;
                log.warn("gratuitous arp via raw socket failed iface={} error=\"{}\" (falling back to arping)", iface,
                        e.toString());
            }
        }
        Result r = run(command("arping", "-U", "-c", "1", "-I", iface, address));
        if (r.code != 0) {
            throw new IOException("arping -U -c 1 -I " + iface + " " + address + ": exit " + r.code + " "
                    + r.output.trim());
        }
    }

    private boolean netlink() {
        return !netlinkFailed && netnsPrefix.isEmpty();
    }

    private void netlinkFailed(Throwable e) {
        netlinkFailed = true;
        log.warn("address change via netlink failed iface={} error=\"{}\" (falling back to the ip command)", iface,
                e.toString());
    }

    /** Whether netlink failed and address changes now spawn {@code ip}. */
    boolean usesIpFallback() {
        return netlinkFailed;
    }

    /** Whether the raw-socket path failed and announcements now go through {@code arping}. */
    boolean usesArpingFallback() {
        return ffmFailed;
    }

    private List<String> command(String... parts) {
        java.util.ArrayList<String> cmd = new java.util.ArrayList<>(netnsPrefix);
        for (String p : parts) {
            if (p != null) {
                cmd.add(p);
            }
        }
        return cmd;
    }

    private static boolean v6(String address) {
        return !(InetAddress.ofLiteral(address) instanceof Inet4Address);
    }

    private static String prefixed(String address) {
        return address + (v6(address) ? "/128" : "/32");
    }

    private record Result(int code, String output) {
    }

    private static Result run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out after " + COMMAND_TIMEOUT_MS + "ms");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + ": interrupted", e);
        }
    }
}
