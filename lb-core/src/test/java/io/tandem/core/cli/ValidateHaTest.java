package io.tandem.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code tandem validate} on a config with an {@code ha} section (issue 19: the summary never
 * mentioned HA, and a VIP address in only one of {@code ha.addresses} and {@code vips[].listen}
 * passed silently).
 */
class ValidateHaTest {

    @Test
    void theSummaryShowsTheHaGroupAndWarnsOfAddressesInOnlyOneOfTheTwoLists(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("lb1.yaml");
        Files.writeString(f, """
                admin: {enabled: false}
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  interface: eth0
                  addresses: [198.18.1.10, 198.18.1.11]
                vips:
                  - {name: web, listen: "198.18.1.10:80", backends: [127.0.0.1:9001]}
                  - {name: api, listen: "198.18.1.21:443", backends: [127.0.0.1:9002]}
                """);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = TandemMain.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));

        int status = cl.execute("validate", f.toString());

        assertThat(status).as("warnings do not fail validation").isZero();
        assertThat(err.toString()).isEmpty();
        assertThat(out.toString()).startsWith(f + ": valid\n")
                .contains("HA group default: node lb1 (peer link 198.18.0.1:7946), peers lb2 at 198.18.0.2:7946;"
                        + " ZooKeeper 198.18.0.9:2181\n"
                        + "  2 addresses on eth0: 198.18.1.10, 198.18.1.11; preemption after 10s\n")
                .endsWith("warning: vips[1].listen: 198.18.1.21:443 (expected an address of ha.addresses: VIP api"
                        + " listens on 198.18.1.21, which the HA group does not manage, so no failover moves it)\n"
                        + "warning: ha.addresses[1]: 198.18.1.11 (expected the listen address of a VIP: no"
                        + " vips[].listen uses it, so the group moves an address nothing here serves)\n");
    }
}
