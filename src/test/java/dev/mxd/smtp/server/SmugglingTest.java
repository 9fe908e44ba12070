package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.smtp.BareLf;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SMTP smuggling and STARTTLS injection (issue 3 point 4), each variant sent as raw bytes to
 * a real server on loopback. The smuggled message is addressed to bob; bob must get nothing.
 * Every probe runs with {@code limits.bare-lf} set to reject and to normalize (issue 16 point 9).
 */
@ParameterizedClass(name = "limits.bare-lf: {0}")
@EnumSource(BareLf.class)
class SmugglingTest {

    @Parameter
    BareLf bareLf;

    private TestMx mx;

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.start("limits:\n  bare-lf: " + bareLf.name().toLowerCase(java.util.Locale.ROOT) + "\n");
    }

    @AfterEach
    void stop() {
        mx.close();
    }

    private RawSmtp transactionUpToData() throws Exception {
        RawSmtp c = new RawSmtp(mx.smtp());
        assertThat(c.code()).isEqualTo(220);
        c.send("EHLO client.test\r\n");
        assertThat(c.code()).isEqualTo(250);
        c.send("MAIL FROM:<eve@attacker.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
        assertThat(c.code()).isEqualTo(250);
        assertThat(c.code()).isEqualTo(250);
        assertThat(c.code()).isEqualTo(354);
        return c;
    }

    private static final String SMUGGLED = "MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
            + "Subject: smuggled\r\n\r\nspoofed\r\n.\r\n";

    @ParameterizedTest(name = "fake end of data {0}")
    @ValueSource(strings = {"\\n.\\r\\n", "\\n.\\n", "\\r.\\r", "\\r\\n.\\r", "\\r\\n.\\n", "\\n.\\r", "\\r.\\r\\n",
        "\\r.\\n", "\\r\\n.\\r\\r\\n", "\\n\\r.\\r\\n"})
    void fakeEndOfDataNeverEndsTheMessage(String escaped) throws Exception {
        String fakeEnd = escaped.replace("\\r", "\r").replace("\\n", "\n");
        // a CR that no LF follows: CR CR LF is one line end when normalized, a CR before anything else is bare
        boolean bareCr = fakeEnd.replaceAll("\r+\n", "").indexOf('\r') >= 0;
        try (RawSmtp c = transactionUpToData()) {
            c.send("Subject: first\r\n\r\nbody" + fakeEnd + SMUGGLED);
            String reply = c.reply();
            if (bareLf == BareLf.REJECT || bareCr) {
                // A bare CR is refused in both modes; a bare LF, and CR CR LF, too unless normalized.
                assertThat(reply).startsWith("521 5.5.2");
                assertThat(c.closedByServer()).isTrue();
                assertNothingAccepted();
                return;
            }
            // Normalized: the fake end and the smuggled commands are text of alice's message (a bare LF, or CR CR LF, a
            // line end), which the smuggled text's own CRLF.CRLF ends; no second transaction ever starts.
            assertThat(reply).startsWith("250 2.0.0 OK queued as ");
            c.send("QUIT\r\n");
            assertThat(c.code()).isEqualTo(221);
        }
        String delivered = Files.readString(mx.awaitDelivered("alice", 1, Duration.ofSeconds(10)).get(0));
        // The Maildir copy has LF line ends (issue 15 point 7); the spool's CRLF, bare LFs normalized, is seen at
        // the next hop in BareLfRelayPeerTest.
        assertThat(delivered).contains("\nMAIL FROM:<admin@example.test>\nRCPT TO:<bob@example.test>\n")
                .contains("Subject: smuggled").doesNotContain("\r");
        Thread.sleep(200); // a smuggled second message would be delivered by now: an absence has no condition to wait for
        assertThat(mx.delivered("bob")).isEmpty();
        assertThat(mx.delivered("alice")).hasSize(1);
    }

    /**
     * NUL next to the dot (variants tried against Exim and Sendmail after the December 2023
     * advisories): not an end of data here, so whatever follows stays text of the first message
     * and the smuggled MAIL never runs; bob gets nothing.
     */
    @ParameterizedTest(name = "NUL beside the dot {0}")
    @ValueSource(strings = {"\\r\\n\\0.\\r\\n", "\\r\\n.\\0\\r\\n", "\\r\\n\\0.\\0\\r\\n"})
    void nulBesideTheDotIsNoEndOfData(String escaped) throws Exception {
        String fakeEnd = escaped.replace("\\r", "\r").replace("\\n", "\n").replace("\\0", "\0");
        try (RawSmtp c = transactionUpToData()) {
            c.send("Subject: first\r\n\r\nbody" + fakeEnd + SMUGGLED);
            String reply = c.reply();
            assertThat(reply).matches("^(250 2\\.0\\.0 OK queued as |5).*");
            c.send("QUIT\r\n");
        }
        Thread.sleep(200); // as above: time for a smuggled message to show up
        assertThat(mx.delivered("bob")).isEmpty();
        assertThat(mx.mx().spool().ids(QueueState.INCOMING).size() + mx.delivered("alice").size()).isLessThanOrEqualTo(1);
    }

    @Test
    void chunkingIsNotOfferedSoBdatCannotCarryASmuggledMessage() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).doesNotContain("CHUNKING");
            // A client that sends BDAT anyway: its chunk (here a whole transaction) must not run as commands.
            String chunk = "RSET\r\nMAIL FROM:<ceo@bank.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                    + "Subject: smuggled\r\n\r\npay now\r\n.\r\nQUIT\r\n";
            c.send("MAIL FROM:<eve@attacker.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT " + chunk.length() + " LAST\r\n" + chunk);
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.reply()).startsWith("521 5.5.1 ");
            assertThat(c.closedByServer()).isTrue();
        }
        assertNothingAccepted();
    }

    @Test
    void bareLfInsideDataIsRefusedOrStoredAsCrLf() throws Exception {
        try (RawSmtp c = transactionUpToData()) {
            c.send("Subject: x\r\n\r\nline one\nline two\r\n.\r\n");
            if (bareLf == BareLf.REJECT) {
                assertThat(c.reply()).startsWith("521 5.5.2");
                assertThat(c.closedByServer()).isTrue();
                assertNothingAccepted();
                return;
            }
            assertThat(c.reply()).startsWith("250 2.0.0 OK queued as ");
        }
        String delivered = Files.readString(mx.awaitDelivered("alice", 1, Duration.ofSeconds(10)).get(0));
        assertThat(delivered).endsWith("\nSubject: x\n\nline one\nline two\n").doesNotContain("\r");
    }

    @Test
    void bareLfInACommandIsRefusedOrTakenAsTheLineEnd() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\n");
            if (bareLf == BareLf.REJECT) {
                assertThat(c.reply()).startsWith("521 5.5.2");
                assertThat(c.closedByServer()).isTrue();
                return;
            }
            assertThat(c.reply()).startsWith("250-mx1.example.test hello client.test");
            c.send("NOOP\n");
            assertThat(c.code()).isEqualTo(250);
        }
    }

    @Test
    void bareCrInACommandIsRefused() throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\rMAIL FROM:<eve@attacker.test>\r\n");
            assertThat(c.reply()).startsWith("521 5.5.2");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void realEndOfDataFollowedByPipelinedCommandsIsTwoMessages() throws Exception {
        try (RawSmtp c = transactionUpToData()) {
            c.send("Subject: first\r\n\r\nbody\r\n.\r\n" + SMUGGLED + "QUIT\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 OK queued as ");
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(354);
            assertThat(c.reply()).startsWith("250 2.0.0 OK queued as ");
            assertThat(c.code()).isEqualTo(221);
        }
        assertThat(mx.awaitDelivered("alice", 1, Duration.ofSeconds(10))).hasSize(1);
        assertThat(mx.awaitDelivered("bob", 1, Duration.ofSeconds(10))).hasSize(1);
    }

    @Test
    void clientTalkingBeforeTheGreetingIsRefused() throws Exception {
        try (TestMx slow = TestMx.start("timeouts:\n  greet-pause: 500ms\n"); RawSmtp c = new RawSmtp(slow.smtp())) {
            c.send("EHLO eager.test\r\nMAIL FROM:<a@b.test>\r\n");
            // the greeting's reply is whole (220- then 220: one code a reply, RFC 5321 §4.2.1), then the refusal
            String r = c.reply();
            assertThat(r).startsWith("220-").contains("\n220 ").doesNotContain("554");
            assertThat(c.reply()).startsWith("554 5.5.1 protocol error: you sent before my greeting");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void plaintextPipelinedAfterStartTlsIsDiscarded() throws Exception {
        Path cert = mx.dir().resolve("cert.pem");
        Path key = mx.dir().resolve("key.pem");
        Certificates.selfSigned(cert, key);
        try (TestMx tls = TestMx.start("tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n");
             RawSmtp c = new RawSmtp(tls.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).contains("STARTTLS");
            // The injection: commands after STARTTLS in the same packet, before the handshake.
            c.send("STARTTLS\r\nMAIL FROM:<injected@attacker.test>\r\n");
            assertThat(c.reply()).startsWith("220 2.0.0");
            SSLSocket s = (SSLSocket) Certificates.trustAll().getSocketFactory().createSocket(c.socket(), "mx1.example.test", tls.smtp().getPort(), true);
            s.setSoTimeout(5000);
            s.startHandshake();
            c.use(s);
            c.send("EHLO client.test\r\n");
            String ehlo = c.reply();
            assertThat(ehlo).startsWith("250-").doesNotContain("STARTTLS");
            // Had MAIL been executed, RCPT would now succeed.
            c.send("RCPT TO:<alice@example.test>\r\n");
            assertThat(c.reply()).startsWith("503 5.5.1");
            c.send("QUIT\r\n");
            assertThat(c.code()).isEqualTo(221);
        }
    }

    private void assertNothingAccepted() throws Exception {
        Thread.sleep(200); // time for a wrongly accepted message to reach the spool: an absence has no condition to wait for
        assertThat(mx.mx().spool().ids(QueueState.INCOMING)).isEmpty();
        assertThat(mx.mx().spool().ids(QueueState.DEFERRED)).isEmpty();
        assertThat(mx.delivered("alice")).isEmpty();
        assertThat(mx.delivered("bob")).isEmpty();
    }
}
