package io.tandem.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link NetNamespace} against a real namespace: only the calling thread moves. Root only. */
class NetNamespaceIT {

    @Test
    void theCallingThreadMovesAndTheOthersStay() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (setns): skipped");
        assumeTrue(run("ip", "netns", "list") == 0, "ip netns unavailable: skipped");
        String ns = "tandem-nsit-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
        String address = "198.18.99.7"; // exists only inside the namespace
        assertThat(run("ip", "netns", "add", ns)).isZero();
        try {
            assertThat(run("ip", "netns", "exec", ns, "ip", "addr", "add", address + "/32", "dev", "lo")).isZero();
            assertThat(run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")).isZero();
            AtomicReference<Object> inside = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    NetNamespace.enter(ns);
                    try (ServerSocket s = new ServerSocket()) {
                        s.bind(new InetSocketAddress(address, 0));
                        inside.set("bound");
                    }
                } catch (Exception e) {
                    inside.set(e);
                }
            });
            t.join(10_000);
            assertThat(inside.get()).as("the address exists in the namespace").isEqualTo("bound");
            assertThatThrownBy(() -> {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new InetSocketAddress(address, 0));
                }
            }).as("this thread never moved").isInstanceOf(IOException.class);
        } finally {
            run("ip", "netns", "delete", ns);
        }
    }

    @Test
    void aMissingNamespaceABadNameAndAVirtualThreadAreRefusedWithTheReason() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (setns): skipped");
        assertThatThrownBy(() -> NetNamespace.enter("tandem-nsit-absent"))
                .isInstanceOf(IOException.class).hasMessageContaining("/run/netns/tandem-nsit-absent: errno 2");
        assertThatThrownBy(() -> NetNamespace.enter("../etc"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected a name under /run/netns");
        AtomicReference<Throwable> virtual = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            try {
                NetNamespace.enter("anything");
            } catch (Throwable e) {
                virtual.set(e);
            }
        }).join(10_000);
        assertThat(virtual.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("virtual thread");
    }

    private static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(10, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
