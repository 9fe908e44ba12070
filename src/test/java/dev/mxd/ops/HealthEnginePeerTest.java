package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import dev.mxd.filter.EngineResult;
import dev.mxd.filter.FilterChain;
import dev.mxd.config.FiltersConfig;
import dev.mxd.filter.ScanEngine;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.Clamd;
import dev.mxd.testing.PeerProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.Rspamd;
import dev.mxd.testing.Spamd;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * /health and the filter engines (issue 16 point 7): mxd filters example.test with a real clamd,
 * spamd and rspamd; /health is 200 while all three answer, 503 naming clamd within a few seconds of
 * clamd being stopped (by its PID), and 200 again once a clamd listens on the same port; a clamd
 * that hangs (SIGSTOP) fails the check when its ping's deadline passes.
 */
@PeerTest
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class HealthEnginePeerTest {

    @Test
    void healthIs503NamingAnEngineThatIsDownAnd200OnceItIsBack() throws Exception {
        Clamd clamd = null;
        Spamd spamd = null;
        Rspamd rspamd = null;
        Path dir = Files.createTempDirectory("mxd-health");
        try {
            clamd = Clamd.start("25M");
            spamd = Spamd.start();
            rspamd = Rspamd.start();
            int clamdPort = ((EngineAddress.Tcp) clamd.address()).port();
            String clamdAddress = clamd.address().toString();
            String filters = "filters:\n"
                    + "  clamd: {address: \"" + clamdAddress + "\"}\n"
                    + "  spamd: {address: \"" + spamd.address() + "\"}\n"
                    + "  rspamd: {url: \"" + rspamd.url() + "\"}\n"
                    + "  timeout: 10s\n";
            try (TestMx mx = TestMx.startWithAdmin(dir, "filter:\n  engines: [clamd, spamd, rspamd]\n", filters)) {
                AdminHttp admin = new AdminHttp(mx);
                JsonNode well = awaitHealth(admin, 200);
                for (String engine : new String[] {"clamd", "spamd", "rspamd"}) {
                    assertThat(well.path("checks").path(engine).path("ok").asBoolean()).as("%s in %s", engine, well).isTrue();
                }
                assertThat(mx.replyToMessage("alice@example.test", "health")).startsWith("250 ");

                clamd.close();
                long stopped = System.nanoTime();
                JsonNode failing = awaitHealth(admin, 503);
                System.out.printf("health: clamd stopped, /health 503 after %d ms%n", (System.nanoTime() - stopped) / 1_000_000);
                assertThat(failing.path("status").asText()).isEqualTo("failing");
                assertThat(failing.path("reasons")).hasSize(1);
                assertThat(failing.path("reasons").get(0).asText()).startsWith("clamd: ").contains("cannot connect to " + clamdAddress);
                assertThat(failing.path("checks").path("spamd").path("ok").asBoolean()).isTrue();
                assertThat(failing.path("checks").path("rspamd").path("ok").asBoolean()).isTrue();
                // what /health says is what clients meet: filters.on-error tempfail
                assertThat(mx.replyToMessage("alice@example.test", "health")).startsWith("451 4.7.1");

                clamd = Clamd.start("25M", clamdPort); // back where mxd expects it
                awaitHealth(admin, 200);
                assertThat(mx.replyToMessage("alice@example.test", "health")).startsWith("250 ");

                // A hung clamd still accepts connections: the ping's deadline (5 s) finds it.
                clamd.pause();
                JsonNode hung = awaitHealth(admin, 503);
                assertThat(hung.path("reasons").get(0).asText()).startsWith("clamd: ").contains("timeout").contains("within 5000 ms");
                clamd.resume();
                awaitHealth(admin, 200);
            }
        } finally {
            PeerProcess.closeAll(clamd, spamd, rspamd);
            TestDirs.deleteTree(dir);
        }
    }

    /** A ping that reaches another daemon is not taken for an answer: spamd's and Rspamd's pings sent to clamd. */
    @Test
    void aPingAnsweredByTheWrongDaemonIsAProtocolError() throws Exception {
        try (Clamd clamd = Clamd.start("25M")) {
            FiltersConfig wrong = new FiltersConfig(Optional.empty(), Optional.of(new FiltersConfig.Spamd(clamd.address(), "mxd")),
                    Optional.of(new FiltersConfig.Rspamd(URI.create("http://" + clamd.address()))), Duration.ofSeconds(5),
                    FiltersConfig.OnError.TEMPFAIL, FiltersConfig.OnTooLarge.ACCEPT);
            Map<Engine, ScanEngine> clients = FilterChain.clients(wrong, Duration.ofSeconds(5));
            for (ScanEngine client : clients.values()) {
                Optional<EngineResult.Unavailable> problem = client.ping();
                assertThat(problem).as("%s", client).isPresent();
                assertThat(problem.get().reason()).as("%s: %s", client, problem.get()).isIn(EngineResult.Reason.PROTOCOL_ERROR,
                        EngineResult.Reason.ENGINE_ERROR);
            }
        }
    }

    private static JsonNode awaitHealth(AdminHttp admin, int status) throws Exception {
        return Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                .until(() -> admin.send("GET", "/health", null), a -> a.status() == status).json();
    }
}
