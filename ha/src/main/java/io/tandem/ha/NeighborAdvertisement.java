package io.tandem.ha;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The IPv6 counterpart of {@link GratuitousArp} (RFC 4861 §7.2.6): an unsolicited neighbour
 * advertisement for the VIP, with the Override flag and our MAC as the target link-layer
 * address, sent to all nodes ({@code ff02::1}) from the VIP itself with hop limit 255 — what a
 * neighbour requires before it replaces the old owner's MAC in its cache (Linux: {@code ndisc_recv_na}).
 * Built as a whole Ethernet frame, checksum included, and sent through the same {@code AF_PACKET}
 * socket as the ARP (FFM, CAP_NET_RAW); keepalived sends the same message for IPv6 VIPs.
 */
final class NeighborAdvertisement {
    static final short ETH_P_IPV6 = (short) 0x86dd;
    private static final byte[] ALL_NODES = {(byte) 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    private static final byte[] ALL_NODES_MAC = {0x33, 0x33, 0, 0, 0, 1};
    private static final int ICMPV6 = 58;
    private static final int NA_LENGTH = 32; // header 4, flags 4, target 16, option 8

    private NeighborAdvertisement() {
    }

    /** The 86-byte frame: Ethernet, IPv6 (VIP → ff02::1, hop limit 255), ICMPv6 type 136 with O set. */
    static byte[] frame(byte[] mac, byte[] ip6) {
        if (mac.length != 6 || ip6.length != 16) {
            throw new IllegalArgumentException("mac " + mac.length + " bytes, address " + ip6.length
                    + " bytes (expected 6 and 16)");
        }
        ByteBuffer icmp = ByteBuffer.allocate(NA_LENGTH).order(ByteOrder.BIG_ENDIAN);
        icmp.put((byte) 136).put((byte) 0).putShort((short) 0); // type, code, checksum (below)
        icmp.putInt(0x2000_0000);                               // R=0 S=0 O=1: unsolicited, override
        icmp.put(ip6);                                          // target: the VIP
        icmp.put((byte) 2).put((byte) 1).put(mac);              // option: target link-layer address, 8 bytes
        byte[] message = icmp.array();
        int sum = checksum(ip6, ALL_NODES, message);
        message[2] = (byte) (sum >>> 8);
        message[3] = (byte) sum;

        ByteBuffer b = ByteBuffer.allocate(14 + 40 + NA_LENGTH).order(ByteOrder.BIG_ENDIAN);
        b.put(ALL_NODES_MAC).put(mac).putShort(ETH_P_IPV6);
        b.putInt(0x6000_0000);                                  // version 6, no traffic class, no flow label
        b.putShort((short) NA_LENGTH).put((byte) ICMPV6).put((byte) 255);
        b.put(ip6).put(ALL_NODES);
        b.put(message);
        return b.array();
    }

    /** The ICMPv6 checksum: one's complement sum over the pseudo-header (RFC 8200 §8.1) and the message. */
    static int checksum(byte[] src, byte[] dst, byte[] message) {
        long sum = 0;
        sum += words(src) + words(dst);
        sum += message.length;           // upper-layer packet length (32 bits; fits in the low word here)
        sum += ICMPV6;                   // three zero bytes and the next header
        sum += words(message);
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static long words(byte[] b) {
        long s = 0;
        for (int i = 0; i + 1 < b.length; i += 2) {
            s += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if ((b.length & 1) != 0) {
            s += (b[b.length - 1] & 0xff) << 8;
        }
        return s;
    }

    static void send(String iface, String address) throws IOException {
        InetAddress a = InetAddress.ofLiteral(address);
        if (!(a instanceof Inet6Address)) {
            throw new IOException("neighbour advertisement: " + address + " (expected an IPv6 address)");
        }
        GratuitousArp.sendFrame(iface, frame(GratuitousArp.mac(iface), a.getAddress()), ETH_P_IPV6,
                "neighbour advertisement");
    }
}
