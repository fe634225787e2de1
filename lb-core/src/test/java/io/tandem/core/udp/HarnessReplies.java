package io.tandem.core.udp;

import java.io.IOException;
import java.net.DatagramSocket;
import java.util.ArrayList;
import java.util.List;

/** Collects whatever replies are still queued on a client socket (short timeout). */
final class HarnessReplies {
    private HarnessReplies() {
    }

    static List<String> drain(DatagramSocket s) throws IOException {
        int old = s.getSoTimeout();
        s.setSoTimeout(300);
        List<String> out = new ArrayList<>();
        try {
            for (String r = UdpHarness.receive(s); r != null; r = UdpHarness.receive(s)) {
                out.add(r);
            }
        } finally {
            s.setSoTimeout(old);
        }
        return out;
    }
}
