package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.KnotServer;
import dev.mxd.testing.PeerTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Paths;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code mxd lookup}: output formats and exit statuses, against real Knot. */
@PeerTest
class LookupCommandTest {

    private static KnotServer knot;
    private static String dns;

    @BeforeAll
    static void start() throws Exception {
        knot = KnotServer.start("mx.test", Paths.get("src/test/resources/zones/resolver/mx.test.zone"));
        dns = "127.0.0.1:" + knot.port();
    }

    @AfterAll
    static void stop() {
        knot.close();
    }

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    static JsonNode json(Run r) throws Exception {
        return MxOutcomeJson.MAPPER.readTree(r.out());
    }

    @Test
    void jsonListsHostsInTryOrderWithTheDocumentedFields() throws Exception {
        Run r = run("lookup", "MULTI.mx.test.", "--dns", dns, "--json");
        assertThat(r.exit()).isZero();
        JsonNode j = json(r);
        assertThat(j.get("domain").asText()).isEqualTo("MULTI.mx.test.");
        assertThat(j.get("ascii").asText()).isEqualTo("multi.mx.test");
        assertThat(j.get("outcome").asText()).isEqualTo("routes");
        assertThat(j.get("implicit").asBoolean()).isFalse();
        assertThat(j.get("error").isNull()).isTrue();
        assertThat(j.get("hosts")).hasSize(3);
        JsonNode c = j.get("hosts").get(2);
        assertThat(c.get("preference").asInt()).isEqualTo(30);
        assertThat(c.get("name").asText()).isEqualTo("c.multi.mx.test");
        assertThat(c.get("addresses").get(0).asText()).isEqualTo("::1");
        assertThat(c.get("addresses").get(1).asText()).isEqualTo("127.0.1.3");
        assertThat(j.get("skipped").isArray()).isTrue();
        assertThat(j.get("warnings").isArray()).isTrue();
        assertThat(r.out().trim().lines()).hasSize(1);
    }

    @Test
    void jsonReportsSkippedHostsAndWarnings() throws Exception {
        JsonNode j = json(run("lookup", "cnamemx.mx.test", "--dns", dns, "--json", "--strict"));
        assertThat(j.get("skipped").get(0).get("name").asText()).isEqualTo("alias.cnamemx.mx.test");
        assertThat(j.get("skipped").get(0).get("reason").asText()).contains("CNAME");
        JsonNode mixed = json(run("lookup", "mixednull.mx.test", "--dns", dns, "--json"));
        assertThat(mixed.get("warnings").get(0).asText()).contains("null MX");
        JsonNode implicit = json(run("lookup", "implicit4.mx.test", "--dns", dns, "--json"));
        assertThat(implicit.get("implicit").asBoolean()).isTrue();
    }

    @Test
    void permanentOutcomesExitOne() throws Exception {
        Run nullMx = run("lookup", "nullmx.mx.test", "--dns", dns, "--json");
        assertThat(nullMx.exit()).isEqualTo(1);
        assertThat(json(nullMx).get("outcome").asText()).isEqualTo("null-mx");
        assertThat(json(nullMx).get("error").asText()).contains("null MX");
        Run nx = run("lookup", "ghost.mx.test", "--dns", dns, "--json");
        assertThat(nx.exit()).isEqualTo(1);
        assertThat(json(nx).get("outcome").asText()).isEqualTo("no-such-domain");
        Run none = run("lookup", "nothing.mx.test", "--dns", dns, "--json");
        assertThat(json(none).get("outcome").asText()).isEqualTo("not-mail-enabled");
        Run self = run("lookup", "self.mx.test", "--dns", dns, "--json", "--local-name", "h1.self.mx.test");
        assertThat(self.exit()).isEqualTo(1);
        assertThat(json(self).get("outcome").asText()).isEqualTo("loops-to-self");
    }

    @Test
    void temporaryFailureExitsSeventyFive() throws Exception {
        Run refused = run("lookup", "elsewhere.example", "--dns", dns, "--json");
        assertThat(refused.exit()).isEqualTo(75);
        assertThat(json(refused).get("outcome").asText()).isEqualTo("temporary-failure");
    }

    @Test
    void deadDnsServerGivesTemporaryFailureWithinFifteenSeconds() throws Exception {
        String dead = "127.0.0.1:" + FreePort.tcpAndUdp("127.0.0.1");
        long start = System.nanoTime();
        Run r = run("lookup", "example.test", "--dns", dead, "--json");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
        assertThat(r.exit()).isEqualTo(75);
        assertThat(json(r).get("outcome").asText()).isEqualTo("temporary-failure");
        assertThat(json(r).get("error").asText()).contains(dead);
    }

    @Test
    void silentDnsServerGivesTemporaryFailureWithinFifteenSeconds() throws Exception {
        try (java.net.DatagramSocket blackhole = new java.net.DatagramSocket(0, java.net.InetAddress.getByName("127.0.0.1"))) {
            String silent = "127.0.0.1:" + blackhole.getLocalPort();
            long start = System.nanoTime();
            Run r = run("lookup", "example.test", "--dns", silent, "--json");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
            assertThat(r.exit()).isEqualTo(75);
            assertThat(json(r).get("error").asText()).contains("timeout");
        }
    }

    @Test
    void humanOutputIsATableInTryOrder() {
        Run r = run("lookup", "noaddr.mx.test", "--dns", dns);
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("PREF", "HOST", "ADDRESSES", "ok.noaddr.mx.test", "127.0.7.1", "skipped:",
                "ghost.noaddr.mx.test");
        Run failed = run("lookup", "nullmx.mx.test", "--dns", dns);
        assertThat(failed.out()).contains("null-mx");
    }

    @Test
    void usageErrorsExitSixtyFour() {
        assertThat(run("lookup").exit()).isEqualTo(64);
        assertThat(run("lookup", "a..b", "--dns", dns).exit()).isEqualTo(64);
        Run badDns = run("lookup", "example.test", "--dns", "127.0.0.1:notaport");
        assertThat(badDns.exit()).isEqualTo(64);
        assertThat(badDns.err()).contains("port");
        assertThat(run("lookup", "example.test", "--no-such-option").exit()).isEqualTo(64);
    }
}
