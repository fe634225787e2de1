package io.tandem.core.logging;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Socket addresses as an operator writes them: {@code 127.0.0.1:80}, {@code [::1]:80} (RFC 5952), a host
 * name when that is all there is ({@code db.example:5432}) — never {@link InetSocketAddress#toString()}'s
 * {@code /127.0.0.1:80} or {@code localhost/127.0.0.1:80}. The log encoder applies it to every
 * address argument; code that builds a string itself (a reload's change list, an error message)
 * calls it.
 */
public final class Addresses {
    private Addresses() {
    }

    /** {@code ip:port} ({@code [v6]:port}); an unresolved address as {@code host:port}; null as {@code -}. */
    public static String format(InetSocketAddress a) {
        if (a == null) {
            return "-";
        }
        String host = a.isUnresolved() || a.getAddress() == null ? a.getHostString()
                : NetUtil.toAddressString(a.getAddress());
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** The address alone, without a host name or slash; null as {@code -}. */
    public static String format(InetAddress a) {
        return a == null ? "-" : NetUtil.toAddressString(a);
    }
}
