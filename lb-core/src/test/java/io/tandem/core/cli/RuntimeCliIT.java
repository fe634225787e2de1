package io.tandem.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.node.Node;
import io.tandem.core.testing.TestBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code tandem backend set-weight|add|remove} and {@code tandem connections} against a real
 * node, as an operator runs them: the admin address and token come from {@code -c FILE} like
 * {@code tandem status}, a change prints the backend as it now is, and a refusal exits non-zero
 * with the node's own reason.
 */
class RuntimeCliIT {
    private static final String TOKEN = "runtime-cli-it-token-0123456";
    private final List<AutoCloseable> closeables = new ArrayList<>();
    @TempDir
    Path dir;
    private Path file;
    private TestBackend a;
    private TestBackend b;
    private int web;

    record Run(int exit, String out, String err) {
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @BeforeEach
    void node() throws Exception {
        a = TestBackend.start(TestBackend.Mode.ECHO);
        b = TestBackend.start(TestBackend.Mode.ECHO);
        closeables.add(a);
        closeables.add(b);
        web = freePort();
        file = dir.resolve("tandem.yaml");
        Files.writeString(file, "admin: {listen: \"127.0.0.1:" + freePort() + "\", token: \"" + TOKEN + "\"}\n"
                + "vips:\n  - name: web\n    listen: 127.0.0.1:" + web + "\n    backends: [127.0.0.1:" + a.port()
                + "]\n");
        ConfigResult r = ConfigLoader.load(file);
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        Node n = Node.start(Node.Options.file("t", ((ConfigResult.Valid) r).config(), file, false));
        closeables.add(() -> n.shutdown(Duration.ZERO));
    }

    @AfterEach
    void cleanup() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    private static Run tandem(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = TandemMain.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void setWeightAddAndRemovePrintTheBackendAndRefusalsExitNonZeroWithTheNodesReason() {
        String aAddr = "127.0.0.1:" + a.port();
        String bAddr = "127.0.0.1:" + b.port();

        Run set = tandem("backend", "set-weight", "web", aAddr, "7", "-c", file.toString());
        assertThat(set.exit()).as(set.err()).isZero();
        assertThat(set.out()).isEqualTo("web " + aAddr + " weight 7 state unchecked origin static runtime weight\n");

        Run status = tandem("status", "-c", file.toString());
        assertThat(status.out()).as("the status marks a run-time weight").containsPattern(
                "-> " + java.util.regex.Pattern.quote(aAddr) + "\\s+7\\*\\s+unchecked");

        Run bad = tandem("backend", "set-weight", "web", aAddr, "300", "-c", file.toString());
        assertThat(bad.exit()).isEqualTo(TandemMain.EXIT_USAGE);
        assertThat(bad.err()).contains("answered 400: weight: 300 (expected 0..256)");

        Run add = tandem("backend", "add", "web", bAddr, "--weight", "3", "-c", file.toString());
        assertThat(add.exit()).as(add.err()).isZero();
        assertThat(add.out()).isEqualTo("web " + bAddr + " weight 3 state unchecked origin runtime runtime added\n");

        Run dup = tandem("backend", "add", "web", bAddr, "-c", file.toString());
        assertThat(dup.exit()).isEqualTo(TandemMain.EXIT_USAGE);
        assertThat(dup.err()).contains("answered 409: VIP \"web\" already has backend " + bAddr);

        Run remove = tandem("backend", "remove", "web", aAddr, "-c", file.toString());
        assertThat(remove.exit()).as(remove.err()).isZero();
        assertThat(remove.out()).startsWith("web " + aAddr + " weight 7");

        Run gone = tandem("backend", "remove", "web", aAddr, "-c", file.toString());
        assertThat(gone.exit()).isEqualTo(TandemMain.EXIT_USAGE);
        assertThat(gone.err()).contains("answered 404: VIP \"web\" has no backend " + aAddr);

        Run noToken = tandem("backend", "set-weight", "web", bAddr, "1", "--admin",
                "127.0.0.1:" + adminPort(), "--token", "not-the-token-not-the-token");
        assertThat(noToken.exit()).isEqualTo(TandemMain.EXIT_USAGE);
        assertThat(noToken.err()).contains("answered 401").doesNotContain(TOKEN);
    }

    private int adminPort() {
        try {
            String yaml = Files.readString(file);
            int i = yaml.indexOf("127.0.0.1:") + "127.0.0.1:".length();
            return Integer.parseInt(yaml.substring(i, yaml.indexOf('"', i)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void connectionsListsAPageAndSaysHowToGetTheNext() throws Exception {
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket s = new Socket(InetAddress.getLoopbackAddress(), web);
            closeables.add(s);
            s.getOutputStream().write("ping".getBytes());
            s.setSoTimeout(10_000);
            assertThat(s.getInputStream().readNBytes(4)).isEqualTo("ping".getBytes());
            open.add(s);
        }

        Run page = tandem("connections", "web", "--limit", "2", "-c", file.toString());
        assertThat(page.exit()).as(page.err()).isZero();
        String[] lines = page.out().split("\n");
        assertThat(lines[0]).matches("\\s*ID\\s+CLIENT\\s+BACKEND\\s+AGE\\s+FROM-CLIENT\\s+TO-CLIENT");
        assertThat(lines).hasSize(4);
        assertThat(lines[1]).contains("127.0.0.1:" + a.port()).contains("4 B");
        assertThat(lines[3]).matches("2 of 3 shown; next page: --after \\d+");

        String after = lines[3].replaceAll(".*--after ", "");
        Run rest = tandem("connections", "web", "--after", after, "-c", file.toString());
        assertThat(rest.out()).endsWith("1 of 1 shown\n");

        Run onB = tandem("connections", "web", "--backend", "127.0.0.1:" + b.port(), "-c", file.toString());
        assertThat(onB.exit()).isEqualTo(TandemMain.EXIT_USAGE);
        assertThat(onB.err()).contains("answered 404");

        Run badLimit = tandem("connections", "web", "--limit", "5000", "-c", file.toString());
        assertThat(badLimit.exit()).isEqualTo(TandemMain.EXIT_USAGE);
        assertThat(badLimit.err()).contains("answered 400: limit: 5000 (expected 1..1000)");
    }

    @Test
    void everyVerbHasHelpAndAnUnreachableNodeExitsThree() throws Exception {
        for (String[] verb : new String[][] {{"backend", "--help"}, {"backend", "set-weight", "--help"},
                {"backend", "add", "--help"}, {"backend", "remove", "--help"}, {"connections", "--help"}}) {
            Run help = tandem(verb);
            assertThat(help.exit()).as(String.join(" ", verb)).isZero();
            assertThat(help.out()).as(String.join(" ", verb)).contains("Usage: tandem " + verb[0]);
        }
        assertThat(tandem("backend", "add", "--help").out()).contains("--weight").contains("--zone");
        assertThat(tandem("connections", "--help").out()).contains("--backend").contains("--limit");

        Run down = tandem("backend", "set-weight", "web", "127.0.0.1:1", "1", "--admin", "127.0.0.1:" + freePort());
        assertThat(down.exit()).isEqualTo(TandemMain.EXIT_FAILED);
        assertThat(down.err()).contains("cannot reach admin API");

        Run noVerb = tandem("backend");
        assertThat(noVerb.exit()).isEqualTo(TandemMain.EXIT_USAGE);
    }
}
