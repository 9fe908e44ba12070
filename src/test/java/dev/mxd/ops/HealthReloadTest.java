package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * /health follows a reload: an engine no domain filters with any more leaves it (a decommissioned
 * clamd kept /health at 503, and load balancers took the node out, until a restart), and one a
 * reload starts using is asked.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HealthReloadTest {

    @Test
    void anEngineNoLongerUsedLeavesHealthAndOneNewlyUsedIsAsked(@TempDir Path dir) throws Exception {
        int dead = FreePort.tcpAndUdp("127.0.0.1"); // nothing listens there
        String filters = "filters:\n  clamd: {address: \"127.0.0.1:" + dead + "\"}\n  timeout: 2s\n";
        try (TestMx mx = TestMx.startWithAdmin(dir, "filter:\n  engines: [clamd]\n", filters)) {
            AdminHttp admin = new AdminHttp(mx);
            JsonNode failing = awaitHealth(admin, 503);
            assertThat(failing.path("checks").has("clamd")).isTrue();

            String config = Files.readString(mx.configFile());
            assertThat(config).contains("    filter:\n      engines: [clamd]\n");
            Files.writeString(mx.configFile(), config.replace("    filter:\n      engines: [clamd]\n", ""));
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            JsonNode well = awaitHealth(admin, 200);
            assertThat(well.path("checks").has("clamd")).as("%s", well).isFalse();

            Files.writeString(mx.configFile(), config);
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            assertThat(awaitHealth(admin, 503).path("reasons").get(0).asText()).startsWith("clamd: ");
        }
    }

    /** mxd_filter_verdicts_total counts over the chains reloads put in place (it stayed bound to the first one). */
    @Test
    void filterVerdictCountersKeepCountingAfterAReload(@TempDir Path dir) throws Exception {
        int dead = FreePort.tcpAndUdp("127.0.0.1");
        String filters = "filters:\n  clamd: {address: \"127.0.0.1:" + dead + "\"}\n  timeout: 2s\n  on-error: tempfail\n";
        try (TestMx mx = TestMx.startWithAdmin(dir, "filter:\n  engines: [clamd]\n", filters)) {
            AdminHttp admin = new AdminHttp(mx);
            assertThat(mx.replyToMessage("alice@example.test", "one")).startsWith("451");
            assertThat(tempfails(admin)).isEqualTo(1.0);
            Files.writeString(mx.configFile(), Files.readString(mx.configFile()).replace("timeout: 2s", "timeout: 3s"));
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            assertThat(mx.replyToMessage("alice@example.test", "two")).startsWith("451");
            assertThat(tempfails(admin)).as("the new chain's verdict counted too").isEqualTo(2.0);
        }
    }

    /** checks.tls says what a reload turned on or off, as EHLO offers it, not what the start had. */
    @Test
    void tlsDetailFollowsAReload(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        dev.mxd.testing.Certificates.selfSigned(cert, key);
        try (TestMx mx = TestMx.startWithAdmin(dir, "", "")) {
            AdminHttp admin = new AdminHttp(mx);
            assertThat(awaitHealth(admin, 200).path("checks").path("tls").path("detail").asText()).startsWith("off");

            String config = Files.readString(mx.configFile());
            Files.writeString(mx.configFile(), config + "tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n");
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            assertThat(awaitHealth(admin, 200).path("checks").path("tls").path("detail").asText()).isEqualTo("STARTTLS with " + cert);

            Files.writeString(mx.configFile(), config);
            assertThat(mx.mx().reload(mx.configFile())).isTrue();
            assertThat(awaitHealth(admin, 200).path("checks").path("tls").path("detail").asText()).startsWith("off");
        }
    }

    private static double tempfails(AdminHttp admin) throws Exception {
        return admin.get("/metrics").body().lines().filter(l -> l.startsWith("mxd_filter_verdicts_total{verdict=\"tempfail\"}"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(-1);
    }

    private static JsonNode awaitHealth(AdminHttp admin, int status) throws Exception {
        return Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                .until(() -> admin.send("GET", "/health", null), a -> a.status() == status).json();
    }
}
