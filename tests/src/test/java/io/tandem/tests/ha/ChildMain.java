package io.tandem.tests.ha;

import java.util.Optional;

/** Shared bits of the tiny mains the HA system test runs inside namespaces. */
final class ChildMain {
    private ChildMain() {
    }

    /** Halts this process when the test JVM {@code owner} is gone, so a crashed run leaves nothing. */
    static void exitWithOwner(long owner) {
        if (owner <= 0) {
            return;
        }
        Thread t = new Thread(() -> {
            while (true) {
                Optional<ProcessHandle> h = ProcessHandle.of(owner);
                if (h.isEmpty() || !h.get().isAlive()) {
                    Runtime.getRuntime().halt(0);
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "owner-watch");
        t.setDaemon(true);
        t.start();
    }
}
