package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.TestMx;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the defaults a message of exactly limits.max-message-size is over clamd's stream limit once
 * mxd's Received header is on it, and on-too-large accept lets it through unscanned (a sender can
 * choose that): the start says so, naming the size to set; a limit above it says nothing.
 */
class UnscannedSizeWarningTest {

    @Test
    void aClamdStreamLimitUnderTheLargestMessageIsWarnedOf(@TempDir Path dir) throws Exception {
        int clamd = FreePort.tcpAndUdp("127.0.0.1");
        try (LogCapture log = LogCapture.start(Level.INFO);
             TestMx mx = TestMx.startWithAdmin(java.nio.file.Files.createDirectories(dir.resolve("a")), "filter:\n  engines: [clamd]\n",
                     "filters:\n  clamd: {address: \"127.0.0.1:" + clamd + "\"}\n")) {
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).startsWith("filters.clamd.stream-max-length (26214400 octets)")
                    .contains("accepted without a virus scan").contains("at least 26279936"));
        }
        try (LogCapture log = LogCapture.start(Level.INFO);
             TestMx mx = TestMx.startWithAdmin(java.nio.file.Files.createDirectories(dir.resolve("b")), "filter:\n  engines: [clamd]\n",
                     "filters:\n  clamd: {address: \"127.0.0.1:" + clamd + "\", stream-max-length: 26M}\n")) {
            assertThat(log.lines()).noneSatisfy(l -> assertThat(l).contains("stream-max-length"));
        }
    }

    /**
     * A local domain written without a postmaster gets a mailbox of that name, said at start whether
     * or not any filter is configured (the warning once sat behind the filter check), and postmaster@
     * that domain is delivered there.
     */
    @Test
    void aLocalDomainWithoutPostmasterIsWarnedOfAtStartAndItsPostmasterDelivered(@TempDir Path dir) throws Exception {
        try (LogCapture log = LogCapture.start(Level.INFO);
             TestMx mx = TestMx.startIn(java.nio.file.Files.createDirectories(dir.resolve("p")),
                     "  other.test:\n    role: local\n    mailboxes: [dave]\n")) {
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).startsWith("domain other.test has no mailbox, alias or catch-all"
                    + " for postmaster").contains("aliases: {postmaster: dave}"));
            assertThat(log.lines()).noneSatisfy(l -> assertThat(l).startsWith("domain example.test has no mailbox"));
            try (dev.mxd.testing.RawSmtp c = new dev.mxd.testing.RawSmtp(mx.smtp())) {
                c.reply();
                c.send("EHLO client.test\r\n").reply();
                assertThat(c.send("MAIL FROM:<a@b.test>\r\n").reply()).startsWith("250");
                assertThat(c.send("RCPT TO:<postmaster@other.test>\r\n").reply()).startsWith("250");
                assertThat(c.send("DATA\r\n").reply()).startsWith("354");
                assertThat(c.send("Subject: abuse report\r\n\r\nhi\r\n.\r\n").reply()).startsWith("250");
            }
            java.nio.file.Path box = mx.mx().maildir("other.test", "postmaster").resolve("new");
            dev.mxd.testing.Await.within(java.time.Duration.ofSeconds(10),
                    () -> java.nio.file.Files.isDirectory(box) && java.nio.file.Files.list(box).findAny().isPresent());
        }
    }
}
