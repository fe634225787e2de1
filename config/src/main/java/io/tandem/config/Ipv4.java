package io.tandem.config;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * An IPv4 address as its 32 bits, without the {@code byte[]} copy {@link InetAddress#getAddress()}
 * makes on every call (escape analysis does not remove it in practice: JMH 24 B/op). Per
 * connection on the data path (Maglev hashing, ACL lookups), so it matters. OpenJDK's
 * {@code Inet4Address.hashCode()} is the address itself but does not promise it, so that shortcut
 * is verified once at class load and the copy is the fallback.
 */
public final class Ipv4 {
    private static final boolean HASH_CODE_IS_ADDRESS = hashCodeIsAddress();

    private Ipv4() {
    }

    /** The address's 32 bits, big-endian (a.b.c.d → a << 24 | … | d). */
    public static int bits(Inet4Address address) {
        if (HASH_CODE_IS_ADDRESS) {
            return address.hashCode();
        }
        byte[] b = address.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    private static boolean hashCodeIsAddress() {
        try {
            for (int sample : new int[] {0, 1, 0x7f000001, 0x0a010203, 0xc0a80001, 0xfffffffe, 0x80000000}) {
                byte[] bytes = {(byte) (sample >>> 24), (byte) (sample >>> 16), (byte) (sample >>> 8), (byte) sample};
                if (InetAddress.getByAddress(bytes).hashCode() != sample) {
                    return false;
                }
            }
            return true;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
