package dev.mxd.check;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.cli.Main;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.KnotServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.TestDirs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Issue 15 point 6, {@code mxd check}: a primary MX (a real Postfix, message_size_limit 10240000) and
 * a backup (a real Postfix taking 40960000), published by Knot. The check warns that the backup takes
 * larger messages than the primary, naming both sizes, in the text and the JSON output; and grades
 * the certificates the two present after STARTTLS (self-signed, for postfix.mxd.test, not the MX name).
 */
@PeerTest
class SizeCheckPeerTest {

    static final String PRIMARY = "127.0.0.95";
    static final String BACKUP = "127.0.0.96";

    static Path dir;
    static KnotServer knot;
    static PostfixServer primary;
    static PostfixServer backup;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("mxd-size-check");
        port = FreePort.tcpOn(PRIMARY, BACKUP);
        knot = KnotServer.start("size.test", TestDirs.zone(dir, "size.test", "@ MX 10 primary", "@ MX 20 backup",
                "primary IN A " + PRIMARY, "backup IN A " + BACKUP));
        primary = PostfixServer.start(PRIMARY + ":" + port, "size.test", "[127.0.0.1]:9", List.of("message_size_limit = 10240000"));
        backup = PostfixServer.start(BACKUP + ":" + port, "size.test", "[127.0.0.1]:9", List.of("message_size_limit = 40960000"));
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {backup, primary, knot}) {
            if (c != null) {
                c.close();
            }
        }
        TestDirs.deleteTree(dir);
    }

    static String check(String... more) {
        StringWriter out = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(new StringWriter()));
        List<String> args = new java.util.ArrayList<>(List.of("check", "size.test", "--dns", "127.0.0.1:" + knot.port(),
                "--port", String.valueOf(port)));
        args.addAll(List.of(more));
        cl.execute(args.toArray(String[]::new));
        return out.toString();
    }

    @Test
    void aBackupTakingLargerMessagesThanThePrimaryIsAWarningInTextAndJson() throws Exception {
        String text = check();
        assertThat(text).contains("backup MX backup.size.test (preference 20) takes messages up to 40960000 bytes (SIZE), "
                + "but the primary primary.size.test (preference 10) only 10240000 bytes");
        JsonNode report = new ObjectMapper().readTree(check("--json"));
        List<JsonNode> warnings = StreamSupport.stream(report.get("findings").spliterator(), false)
                .filter(f -> f.get("severity").asText().equals("warning")).toList();
        assertThat(warnings).anySatisfy(f -> assertThat(f.get("message").asText())
                .contains("takes messages up to 40960000 bytes").contains("only 10240000 bytes"));
    }

    @Test
    void eachMxCertificateIsGraded() throws Exception {
        JsonNode report = new ObjectMapper().readTree(check("--json"));
        List<JsonNode> findings = StreamSupport.stream(report.get("findings").spliterator(), false).toList();
        for (String host : List.of("primary.size.test", "backup.size.test")) {
            assertThat(findings).anySatisfy(f -> {
                assertThat(f.get("severity").asText()).isEqualTo("warning");
                assertThat(f.get("message").asText()).contains("is for [postfix.mxd.test], not " + host);
            });
            assertThat(findings).anySatisfy(f -> {
                assertThat(f.get("severity").asText()).isEqualTo("note");
                assertThat(f.get("message").asText()).startsWith(host).contains("self-signed");
            });
        }
    }
}
