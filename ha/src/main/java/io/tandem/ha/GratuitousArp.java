package io.tandem.ha;

import static io.tandem.sys.Syscalls.AF_PACKET;
import static io.tandem.sys.Syscalls.SOCK_RAW;

import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sends one gratuitous ARP (an ARP request with sender IP = target IP = the VIP, to the
 * broadcast address) from an interface through an {@code AF_PACKET} raw socket, with libc
 * through {@link Syscalls} (FFM): no JNI, no external tool. Needs CAP_NET_RAW (root). Linux only.
 */
final class GratuitousArp {
    private static final short ETH_P_ARP = 0x0806;
    private static final int SOCKADDR_LL_SIZE = 20;

    private GratuitousArp() {
    }

    /** The 42-byte Ethernet frame: broadcast destination, ARP request, sender = target = {@code ip}. */
    static byte[] frame(byte[] mac, byte[] ip) {
        ByteBuffer b = ByteBuffer.allocate(42).order(ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < 6; i++) {
            b.put((byte) 0xff);
        }
        b.put(mac);
        b.putShort(ETH_P_ARP);
        b.putShort((short) 1);        // hardware type: Ethernet
        b.putShort((short) 0x0800);   // protocol type: IPv4
        b.put((byte) 6).put((byte) 4);
        b.putShort((short) 1);        // operation: request
        b.put(mac).put(ip);           // sender
        b.put(new byte[6]).put(ip);   // target hardware unknown, target IP = ours
        return b.array();
    }

    static byte[] mac(String iface) throws IOException {
        String text = Files.readString(Path.of("/sys/class/net", iface, "address")).trim();
        String[] parts = text.split(":");
        if (parts.length != 6) {
            throw new IOException("mac of " + iface + ": \"" + text + "\" (expected 6 octets)");
        }
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            mac[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return mac;
    }

    static int ifindex(String iface) throws IOException {
        return Integer.parseInt(Files.readString(Path.of("/sys/class/net", iface, "ifindex")).trim());
    }

    /**
     * Opens and closes an {@code AF_PACKET} socket: links the native calls and initialises this
     * class before the first takeover needs them (measured: the first GARP of a fresh node left
     * ~66 ms later than a warm node's). Failure is ignored: {@link #send} reports it when it matters.
     */
    static void warmUp() {
        if (!Syscalls.AVAILABLE) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(arena);
            int fd = Syscalls.socket(state, AF_PACKET, SOCK_RAW, (int) Short.reverseBytes(ETH_P_ARP) & 0xffff);
            if (fd >= 0) {
                Syscalls.close(state, fd);
            }
        } catch (RuntimeException ignored) {
            // no CAP_NET_RAW or no FFM: send() falls back to arping and says so
        }
    }

    static void send(String iface, String address) throws IOException {
        InetAddress a = InetAddress.ofLiteral(address);
        if (!(a instanceof Inet4Address)) {
            throw new IOException("gratuitous ARP: " + address + " (expected an IPv4 address)");
        }
        sendFrame(iface, frame(mac(iface), a.getAddress()), ETH_P_ARP, "gratuitous ARP");
    }

    /**
     * Sends one whole Ethernet {@code frame} (headers included) out of {@code iface} through an
     * {@code AF_PACKET} raw socket of protocol {@code ethertype}; {@code what} names it in errors.
     * Shared with {@link NeighborAdvertisement}.
     */
    static void sendFrame(String iface, byte[] frame, short ethertype, String what) throws IOException {
        int ifindex = ifindex(iface);
        if (!Syscalls.AVAILABLE) {
            throw new IOException(what + ": libc calls through FFM unavailable (expected Linux and native access)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(arena);
            short protoBe = Short.reverseBytes(ethertype);
            int protocol = protoBe & 0xffff;
            int fd = Syscalls.socket(state, AF_PACKET, SOCK_RAW, protocol);
            if (fd < 0) {
                throw new IOException("socket(AF_PACKET): errno " + Syscalls.errno(state) + " (expected CAP_NET_RAW)");
            }
            try {
                MemorySegment sll = arena.allocate(SOCKADDR_LL_SIZE, 4);
                sll.set(ValueLayout.JAVA_SHORT, 0, (short) AF_PACKET);
                sll.set(ValueLayout.JAVA_SHORT, 2, protoBe);
                sll.set(ValueLayout.JAVA_INT, 4, ifindex);
                sll.set(ValueLayout.JAVA_SHORT, 8, (short) 1);     // ARPHRD_ETHER
                sll.set(ValueLayout.JAVA_BYTE, 10, (byte) 0);
                sll.set(ValueLayout.JAVA_BYTE, 11, (byte) 6);
                for (int i = 0; i < 6; i++) { // the frame's own destination address
                    sll.set(ValueLayout.JAVA_BYTE, 12 + i, frame[i]);
                }
                MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, frame);
                long sent = Syscalls.sendto(state, fd, buf.address(), frame.length, 0, sll.address(), SOCKADDR_LL_SIZE);
                if (sent != frame.length) {
                    throw new IOException("sendto(" + iface + "): " + sent + " errno " + Syscalls.errno(state)
                            + " (expected " + frame.length + " bytes sent)");
                }
            } finally {
                Syscalls.close(state, fd);
            }
        } catch (IllegalStateException e) { // a call that could not be made at all
            throw new IOException(what + " via FFM failed", e);
        }
    }
}
