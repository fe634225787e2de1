package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.tandem.config.HealthCheckSpec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class HttpsCheckIT extends CheckerITBase {

    private HttpsServer server;

    @BeforeEach
    void startServer() throws Exception {
        X509Bundle cert = new CertificateBuilder().subject("CN=backend.test").setIsCertificateAuthority(true)
                .ecp256().buildSelfSigned();
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(cert.toKeyManagerFactory().getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress(Servers.LOOPBACK, 0), 50);
        server.setHttpsConfigurator(new HttpsConfigurator(ssl));
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/health", ex -> {
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void httpsCheckPassesAgainstASelfSignedCertificate(TestTransport t) throws Exception {
        Recorder r = new Recorder();
        InetSocketAddress address = new InetSocketAddress(Servers.LOOPBACK, server.getAddress().getPort());
        // A cold TLS stack (first handshake in this JVM) is slow on a loaded machine: generous timeout.
        checker(t).watch(address, new HealthCheckSpec.Http(timing(Duration.ofMillis(200), Duration.ofSeconds(10)), OptionalInt.empty(), true, "GET", "/health",
                Optional.empty(), 200, 299, Optional.empty()), InitialState.PENDING, r);
        HealthTransition up = r.next();
        assertThat(up.to()).isEqualTo(CheckState.UP);
        assertThat(up.reason()).isEqualTo("first check passed: status 204");
    }
}
