package io.tandem.tests.ha;

import io.tandem.tests.support.OwnerWatch;
import java.io.IOException;
import java.io.PrintStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.BufferedOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

/**
 * The nemesis checker's eyes inside one node's namespace: every PERIOD ms, for each VIP, whether
 * the address is on the interface ("listed") and whether a TCP handshake to VIP:PORT completes
 * within TIMEOUT ms ("accepting": what a client would see; a frozen or starved JVM's kernel still
 * completes handshakes on its listening socket). One line per VIP and round:
 * {@code S <nanoTime> <vip> <listed 0|1> <accepting 0|1> <handshake µs or -1>}.
 * {@code System.nanoTime()} is {@code CLOCK_MONOTONIC} on Linux, one clock for every process on
 * the host (namespaces do not change it), so the lines of both nodes' samplers and the test JVM's
 * fault log line up.
 *
 * <p>The probe's source address is the VIP itself: bound before the connect, so the handshake can
 * only be with this node's own kernel (a connect to a VIP that is not local would otherwise go
 * out on the wire to whichever node has it, and read as "accepting" here). A VIP not on the
 * interface fails the bind at once: not accepting. The socket is closed with an RST (linger 0):
 * no TIME_WAIT pile-up over a long run.
 *
 * <p>{@code OwnerSamplerMain OWNER_PID PERIOD_MS TIMEOUT_MS IFACE PORT VIP...}
 */
public final class OwnerSamplerMain {
    static final String READY = "sampler ready";

    private OwnerSamplerMain() {
    }

    public static void main(String[] args) throws Exception {
        OwnerWatch.exitWithOwner(Long.parseLong(args[0]));
        long period = Long.parseLong(args[1]) * 1_000_000L;
        long timeout = Long.parseLong(args[2]) * 1_000_000L;
        String iface = args[3];
        int port = Integer.parseInt(args[4]);
        List<InetAddress> vips = new ArrayList<>();
        for (int i = 5; i < args.length; i++) {
            vips.add(InetAddress.getByName(args[i]));
        }
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
                false);
        out.println(READY);
        out.flush();
        long next = System.nanoTime();
        Selector selector = Selector.open();
        while (true) {
            long t = System.nanoTime();
            Set<InetAddress> listed = listed(iface);
            long[] micros = probe(selector, vips, port, timeout);
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < vips.size(); i++) {
                b.append("S ").append(t).append(' ').append(vips.get(i).getHostAddress()).append(' ')
                        .append(listed.contains(vips.get(i)) ? 1 : 0).append(' ').append(micros[i] >= 0 ? 1 : 0)
                        .append(' ').append(micros[i]).append('\n');
            }
            out.print(b);
            out.flush();
            next += period;
            long now = System.nanoTime();
            if (next < now) {
                next = now; // a stall: do not burst to catch up, the gap shows in the stamps
            } else {
                LockSupport.parkNanos(next - now);
            }
        }
    }

    private static Set<InetAddress> listed(String iface) {
        Set<InetAddress> out = new HashSet<>();
        try {
            NetworkInterface ni = NetworkInterface.getByName(iface);
            if (ni != null) {
                ni.inetAddresses().forEach(out::add);
            }
        } catch (IOException e) {
            // unreadable this round: reads as not listed, and the sampler says so
            System.err.println("listed: " + e);
        }
        return out;
    }

    /** Per VIP: the handshake time in µs, or -1 (not local, refused, or not done within the timeout). */
    private static long[] probe(Selector selector, List<InetAddress> vips, int port, long timeout) throws IOException {
        long[] micros = new long[vips.size()];
        SocketChannel[] chans = new SocketChannel[vips.size()];
        long[] started = new long[vips.size()];
        int pending = 0;
        for (int i = 0; i < vips.size(); i++) {
            micros[i] = -1;
            SocketChannel c = SocketChannel.open();
            chans[i] = c;
            try {
                c.configureBlocking(false);
                c.setOption(StandardSocketOptions.SO_LINGER, 0);
                c.bind(new InetSocketAddress(vips.get(i), 0));
                started[i] = System.nanoTime();
                if (c.connect(new InetSocketAddress(vips.get(i), port))) {
                    micros[i] = (System.nanoTime() - started[i]) / 1_000;
                } else {
                    c.register(selector, SelectionKey.OP_CONNECT, i);
                    pending++;
                }
            } catch (IOException e) {
                // not local (bind), refused: not accepting
            }
        }
        long deadline = System.nanoTime() + timeout;
        while (pending > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            selector.select(Math.max(1, left / 1_000_000));
            for (SelectionKey k : selector.selectedKeys()) {
                int i = (Integer) k.attachment();
                k.cancel();
                pending--;
                try {
                    if (((SocketChannel) k.channel()).finishConnect()) {
                        micros[i] = (System.nanoTime() - started[i]) / 1_000;
                    }
                } catch (IOException e) {
                    // refused or reset: not accepting
                }
            }
            selector.selectedKeys().clear();
        }
        for (SocketChannel c : chans) {
            SelectionKey k = c.keyFor(selector);
            if (k != null) {
                k.cancel();
            }
            c.close();
        }
        selector.selectNow(); // flush the cancelled keys
        return micros;
    }
}
