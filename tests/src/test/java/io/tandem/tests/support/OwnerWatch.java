package io.tandem.tests.support;

import java.util.Optional;

/**
 * For the small helper processes the system tests start (backends, ZooKeeper, client loops):
 * they halt when the test JVM that owns them is gone, so a crashed run leaves nothing behind.
 */
public final class OwnerWatch {
    private OwnerWatch() {
    }

    /** Halts this process when the test JVM {@code owner} is gone, so a crashed run leaves nothing. */
    public static void exitWithOwner(long owner) {
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
