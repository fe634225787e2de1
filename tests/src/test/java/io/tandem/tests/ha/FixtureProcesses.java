package io.tandem.tests.ha;

import io.tandem.tests.TandemProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the namespace fixtures ({@link PairSystem}, {@link BgpSystem}) do with their processes
 * after a scenario: keep every output under {@code target/<dir>/<test>-node<i>.log} /
 * {@code -client<i>.log}, then stop them all.
 */
final class FixtureProcesses {
    private FixtureProcesses() {
    }

    /** Writes the nodes' and clients' output; returns the directory for the fixture's own logs. */
    static Path saveLogs(String dir, String testName, List<TandemProcess> nodes, List<Child> clients)
            throws IOException {
        Path logs = Files.createDirectories(Path.of("target", dir));
        for (int i = 0; i < nodes.size(); i++) {
            Files.writeString(logs.resolve(testName + "-node" + i + ".log"), nodes.get(i).output());
        }
        for (int i = 0; i < clients.size(); i++) {
            Files.writeString(logs.resolve(testName + "-client" + i + ".log"),
                    String.join("\n", clients.get(i).lines()));
        }
        return logs;
    }

    /** Closes the clients, then the nodes, and empties both lists. */
    static void stop(List<TandemProcess> nodes, List<Child> clients) throws Exception {
        for (Child c : clients) {
            c.close();
        }
        clients.clear();
        for (TandemProcess n : nodes) {
            n.close();
        }
        nodes.clear();
    }
}
