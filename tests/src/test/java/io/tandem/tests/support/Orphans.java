package io.tandem.tests.support;

import java.util.List;

/**
 * Processes a test JVM starts (Tandem nodes, backends) carry {@code -Dtandem.test.owner=<pid>}
 * on their command line. A test JVM that is killed before its cleanup runs leaves them behind;
 * {@link #sweep()} finds those whose owner is gone and kills them (SIGKILL, which also ends a
 * SIGSTOPped one). Processes of a live test run, another module's or another developer's, are
 * left alone.
 */
public final class Orphans {
    static final String OWNER_PROPERTY = "-Dtandem.test.owner=";

    private Orphans() {
    }

    /** The JVM argument that marks a child process as owned by this test JVM. */
    public static String ownerArg() {
        return OWNER_PROPERTY + ProcessHandle.current().pid();
    }

    /** Kills every marked process whose owner is no longer alive; returns how many. */
    public static int sweep() {
        int[] killed = {0};
        ProcessHandle.allProcesses().forEach(h -> {
            List<String> args = h.info().arguments().map(List::of).orElse(List.of());
            for (String a : args) {
                if (a.startsWith(OWNER_PROPERTY)) {
                    if (!alive(a.substring(OWNER_PROPERTY.length()))) {
                        h.destroyForcibly();
                        killed[0]++;
                    }
                    return;
                }
            }
        });
        return killed[0];
    }

    private static boolean alive(String pid) {
        try {
            return ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
