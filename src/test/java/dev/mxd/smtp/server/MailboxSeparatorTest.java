package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A message whose text starts with a Unix mailbox's "From " line (a script that pipes an mbox file to SMTP, as
 * sendmail and Postfix take it) reaches the mailbox with its header section whole: the separator is an
 * X-Mailbox-Line field, and From, Subject and the MIME fields after it are header fields, not body. A Bcc field the
 * client left in does not reach the recipient.
 */
class MailboxSeparatorTest {

    @Test
    void aLeadingFromLineKeepsTheHeaderSection() throws Exception {
        try (TestMx mx = TestMx.start("")) {
            try (RawSmtp c = new RawSmtp(mx.smtp())) {
                assertThat(c.code()).isEqualTo(220);
                c.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                assertThat(c.reply()).startsWith("250");
                assertThat(c.reply()).startsWith("250");
                assertThat(c.reply()).startsWith("250");
                assertThat(c.reply()).startsWith("354");
                c.send("From a@client.test Mon Jan  1 00:00:00 2024\r\nFrom: A <a@client.test>\r\nSubject: quarterly report\r\n"
                        + "Bcc: board@client.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nthe figures\r\n.\r\n");
                assertThat(c.reply()).startsWith("250 2.0.0");
            }
            String message = new String(Files.readAllBytes(mx.awaitDelivered("alice", 1, Duration.ofSeconds(10)).get(0)),
                    StandardCharsets.US_ASCII).replace("\r\n", "\n"); // a Maildir file's lines end in LF
            String header = message.substring(0, message.indexOf("\n\n") + 1);
            String body = message.substring(header.length() + 1);
            assertThat(header).contains("\nX-Mailbox-Line: From a@client.test Mon Jan  1 00:00:00 2024\n",
                    "\nFrom: A <a@client.test>\n", "\nSubject: quarterly report\n", "\nContent-Type: text/plain");
            assertThat(header).as("the Bcc list, left out as Postfix's cleanup leaves it out").doesNotContain("Bcc", "board@");
            assertThat(body).isEqualTo("the figures\n");
        }
    }
}
