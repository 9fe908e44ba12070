package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.MaildirText;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixRelay;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 3 point 8: a real Postfix, configured with a transport to {@code [127.0.0.1]:MXDPORT},
 * relays a message into mxd; it arrives in the Maildir intact (Postfix adds its own Received
 * header; the text after it is exactly what was injected, 8-bit and leading dots included). The
 * message carries Date and Message-ID, so Postfix's cleanup has nothing else to add.
 */
@PeerTest
class PostfixRelayTest {

    @Test
    void postfixRelaysIntoMxdAndTheMessageArrivesIntact() throws Exception {
        String body = "From: sender@client.test\r\nTo: bob@example.test\r\nSubject: via postfix\r\n"
                + "Date: Thu, 26 Nov 2026 05:00:00 +0000\r\nMessage-ID: <relay-1@client.test>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "Grüße über Postfix\r\n.dot line\r\n" + "long line ".repeat(80) + "\r\nend\r\n";
        Path work = Files.createTempDirectory("mxd-postfix");
        try (TestMx mx = TestMx.start("")) {
            try (PostfixRelay postfix = PostfixRelay.start(work, "example.test", mx.smtp().getPort())) {
                try (RawSmtp c = new RawSmtp(postfix.address())) {
                    assertThat(c.code()).isEqualTo(220);
                    c.send("EHLO client.test\r\n");
                    assertThat(c.reply()).startsWith("250");
                    c.send("MAIL FROM:<sender@client.test> BODY=8BITMIME\r\n");
                    assertThat(c.reply()).startsWith("250");
                    c.send("RCPT TO:<bob@example.test>\r\n");
                    assertThat(c.reply()).as(postfix.log()).startsWith("250");
                    c.send("DATA\r\n");
                    assertThat(c.code()).isEqualTo(354);
                    c.send(body.replace("\r\n.", "\r\n..").getBytes(StandardCharsets.UTF_8)).send(".\r\n");
                    assertThat(c.reply()).startsWith("250");
                    c.send("QUIT\r\n");
                }
                List<Path> files = mx.awaitDelivered("bob", 1, Duration.ofSeconds(60));
                assertThat(files).as(postfix.log()).hasSize(1);
                String got = Files.readString(files.get(0), StandardCharsets.UTF_8);
                assertThat(got).startsWith("Return-Path: <sender@client.test>\nDelivered-To: bob@example.test\n"
                        + "Received: from relay.client.test ([127.0.0.1])\n\tby mx1.example.test (mxd) with ESMTP id ");
                assertThat(got).contains("by relay.client.test (Postfix) with ESMTP id");
                assertThat(got).endsWith(MaildirText.lf(body));
                assertThat(postfix.log()).contains("relay=127.0.0.1[127.0.0.1]:" + mx.smtp().getPort()).contains("status=sent");
            }
        } finally {
            TestDirs.deleteTree(work);
        }
    }
}
