package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Certificates;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * STARTTLS from a client whose server name (SNI) has a final dot or an underscore, as some TLS stacks send it:
 * the JDK's TLS server ended the handshake with a fatal illegal_parameter alert, so such a sender never had TLS
 * with this MX (an opportunistic one went on in plaintext, one that requires TLS bounced). mxd serve, as a process
 * started by its main, completes the handshake; openssl s_client is the client, since the JDK's own refuses to send
 * such a name.
 */
class ClientServerNameTest {

    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("mxd-sni");
    }

    @AfterEach
    void tearDown() {
        TestDirs.deleteTree(dir);
    }

    @Test
    void aServerNameWithAFinalDotOrAnUnderscoreStillGetsTls() throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        Path config = dir.resolve("mxd.yaml");
        Files.writeString(config, TestMx.yaml(dir.resolve("data"), port, "timeouts:\n  greet-pause: 0s\n" + Certificates.tlsSection(dir)));
        MxdProcess serve = MxdProcess.serve(config, dir.resolve("serve.out"));
        try {
            for (String name : new String[] {"mx1.example.test.", "under_score.example.test", "mx1.example.test"}) {
                String session = starttls(port, name);
                assertThat(session).as(name).containsPattern("Ciphersuite: [A-Z0-9_-]+").doesNotContain("alert");
            }
        } finally {
            assertThat(serve.terminate()).isZero();
        }
    }

    /** What openssl s_client prints of a STARTTLS session with {@code serverName} as its SNI. */
    private static String starttls(int port, String serverName) throws Exception {
        Process p = new ProcessBuilder("openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:" + port,
                "-servername", serverName, "-brief").redirectErrorStream(true).start();
        p.getOutputStream().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out.toString(StandardCharsets.UTF_8);
    }
}
