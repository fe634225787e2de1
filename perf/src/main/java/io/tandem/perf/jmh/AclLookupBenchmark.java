package io.tandem.perf.jmh;

import io.tandem.config.AccessControl;
import io.tandem.config.Cidr;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Cost of one {@link AccessControl#allows} as a VIP's {@code acl} grows: random IPv4 /16../32
 * deny prefixes under an allow of 10.0.0.0/8 (and as many IPv6 /48s), clients rotating over
 * 1024 addresses near those prefixes. The claim to check: O(log n), thousands ≈ tens.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AclLookupBenchmark {
    private static final int CLIENTS = 1024;

    @Param({"10", "1000", "10000"})
    public int prefixes;

    @Param({"v4", "v6"})
    public String family;

    private AccessControl acl;
    private InetAddress[] clients;
    private int next;

    @Setup
    public void setUp() throws UnknownHostException {
        SplittableRandom random = new SplittableRandom(7);
        List<Cidr> deny = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        while (deny.size() < prefixes) {
            String p;
            if (family.equals("v4")) {
                int len = 16 + random.nextInt(17);
                int a = (10 << 24) | random.nextInt(1 << 24);
                a &= len == 32 ? -1 : ~(-1 >>> len);
                p = ((a >>> 24) & 0xff) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff) + "/" + len;
            } else {
                p = "2001:db8:" + Integer.toHexString(random.nextInt(1 << 16)) + "::/48";
            }
            if (seen.add(p)) {
                deny.add(Cidr.parse(p).cidr().orElseThrow(() -> new IllegalStateException(p)));
            }
        }
        acl = new AccessControl(List.of(Cidr.parse(family.equals("v4") ? "10.0.0.0/8" : "2001:db8::/32").cidr()
                .orElseThrow()), deny);
        clients = new InetAddress[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            byte[] b = deny.get(random.nextInt(deny.size())).network().getAddress().clone();
            b[b.length - 1] ^= (byte) random.nextInt(256);
            b[b.length - 2] ^= (byte) random.nextInt(4);
            clients[i] = InetAddress.getByAddress(b);
        }
    }

    @Benchmark
    public boolean allows() {
        InetAddress c = clients[next];
        next = (next + 1) & (CLIENTS - 1);
        return acl.allows(c);
    }
}
