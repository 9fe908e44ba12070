package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Dovecot;
import dev.mxd.testing.MaildirText;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 3 point 6: Dovecot (a real IMAP server) reads mxd's Maildir and serves the delivered
 * message byte for byte: the delivery headers and Received header mxd added, then exactly what
 * the client sent (unstuffed, 8-bit intact). Issue 15 point 7: the file holds it with LF line
 * ends, and IMAP gives back the CRLF that was sent.
 */
@PeerTest
class DovecotImapTest {

    @Test
    void dovecotServesTheDeliveredMessageByteForByte() throws Exception {
        byte[] original = ("From: sender@client.test\r\nTo: alice@example.test\r\nSubject: over IMAP\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "Grüße aus dem Maildir\r\n.a line that started with a dot\r\n\r\nend\r\n").getBytes(StandardCharsets.UTF_8);
        try (TestMx mx = TestMx.start("")) {
            mx.send(" BODY=8BITMIME", "alice@example.test", original);
            List<Path> files = mx.awaitDelivered("alice", 1, Duration.ofSeconds(20));
            assertThat(files).hasSize(1);
            byte[] delivered = Files.readAllBytes(files.get(0));
            String text = new String(delivered, StandardCharsets.UTF_8);
            assertThat(text).startsWith("Return-Path: <sender@client.test>\nDelivered-To: alice@example.test\nReceived: from client.test")
                    .endsWith(MaildirText.lf(new String(original, StandardCharsets.UTF_8)));

            Path mailRoot = mx.mx().maildir("example.test", "alice").getParent().getParent();
            Dovecot.giveToMailUser(mx.dir(), mx.mx().maildir("example.test", "alice").getParent());
            try (Dovecot imap = Dovecot.start(mx.dir().resolve("dovecot"), mailRoot)) {
                byte[] fetched = imap.fetch("alice", "INBOX", 1);
                // IMAP serves lines with CRLF: exactly the sent message under mxd's headers, the file is that less CR.
                String served = new String(fetched, StandardCharsets.UTF_8);
                assertThat(served).as(imap.log()).startsWith("Return-Path: <sender@client.test>\r\n")
                        .endsWith(new String(original, StandardCharsets.UTF_8));
                assertThat(fetched).endsWith(original);
                assertThat(MaildirText.lf(fetched)).isEqualTo(delivered);
            }
        }
    }
}
