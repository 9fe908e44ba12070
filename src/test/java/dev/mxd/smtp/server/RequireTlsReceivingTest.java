package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.testing.Await;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * REQUIRETLS received (RFC 8689 §3): offered only after STARTTLS, refused outside TLS, and kept in the
 * spooled envelope across a restart.
 */
class RequireTlsReceivingTest {

    private Path dir;
    private String tls;

    @BeforeEach
    void certificate() throws Exception {
        dir = Files.createTempDirectory("mxd-requiretls-in");
        tls = Certificates.tlsSection(dir);
    }

    @AfterEach
    void remove() {
        TestDirs.deleteTree(dir);
    }

    @Test
    void offeredAndTakenOnlyOverTlsAndKeptAcrossARestart() throws Exception {
        Path data = dir.resolve("node");
        Files.createDirectories(data);
        String id;
        try (TestMx mx = TestMx.startIn(data, tls); RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).contains("STARTTLS").doesNotContain("REQUIRETLS");
            c.send("MAIL FROM:<s@client.test> REQUIRETLS\r\n");
            assertThat(c.reply()).startsWith("530 5.7.10");

            c.startTls("mx1.example.test");
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).contains("REQUIRETLS").doesNotContain("STARTTLS");
            c.send("MAIL FROM:<s@client.test> REQUIRETLS=YES\r\n");
            assertThat(c.reply()).startsWith("501");
            c.send("MAIL FROM:<s@client.test> REQUIRETLS\r\n");
            assertThat(c.reply()).startsWith("250");
            // A backup domain whose MX cannot be found: the message stays in the spool, deferred.
            c.send("RCPT TO:<someone@example.org>\r\n");
            assertThat(c.reply()).startsWith("250");
            c.send("DATA\r\n");
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: secret\r\n\r\nhello\r\n.\r\n");
            String queued = c.reply();
            assertThat(queued).startsWith("250 2.0.0 OK queued as ");
            id = queued.substring("250 2.0.0 OK queued as ".length()).strip();
            Spool spool = mx.mx().spool();
            Await.within(Duration.ofSeconds(20), () -> spool.state(id).equals(Optional.of(QueueState.DEFERRED)));
            assertThat(spool.envelope(QueueState.DEFERRED, id).parameters().requireTls()).isTrue();
            c.send("QUIT\r\n");
        }
        try (TestMx again = TestMx.startIn(data, tls)) {
            Spool spool = again.mx().spool();
            QueueState state = spool.state(id).orElseThrow();
            assertThat(spool.envelope(state, id).parameters().requireTls()).isTrue();
        }
    }

    /** A listener without a certificate offers neither STARTTLS nor REQUIRETLS: the parameter is unknown there (555), not "STARTTLS first". */
    @Test
    void withoutACertificateTheParameterIsUnknown() throws Exception {
        Path data = dir.resolve("plain");
        Files.createDirectories(data);
        try (TestMx mx = TestMx.startIn(data, ""); RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).doesNotContain("STARTTLS").doesNotContain("REQUIRETLS");
            c.send("MAIL FROM:<s@client.test> REQUIRETLS\r\n");
            assertThat(c.reply()).startsWith("555 5.5.4");
            c.send("QUIT\r\n");
        }
    }
}
