package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.mxd.testing.Dovecot;
import dev.mxd.testing.MaildirText;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 point 7: with {@code delivery.maildir-owner} and {@code maildir-group}, mxd (running as
 * root) writes each Maildir file mode 0600 and its new directories mode 0700, owned by that user,
 * so Dovecot, running the mailbox as that non-root user, serves the message over IMAP as mxd
 * stored it, without anyone changing owners after delivery (DovecotImapTest has to chown): the
 * file has LF line ends, and IMAP serves exactly what was sent.
 */
@PeerTest
class MaildirOwnerPeerTest {

    @Test
    void dovecotRunningAsTheConfiguredOwnerServesTheMailAsStored() throws Exception {
        assumeThat(((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue()).as("needs root to chown").isZero();
        byte[] original = ("From: sender@client.test\r\nTo: alice@example.test\r\nSubject: owned by mail\r\n\r\n"
                + "first line\r\n.a dot line\r\n\r\nlast line\r\n").getBytes(StandardCharsets.UTF_8);
        try (TestMx mx = TestMx.start("delivery:\n  maildir-owner: mail\n  maildir-group: mail\n")) {
            mx.send("", "alice@example.test", original);
            List<Path> files = mx.awaitDelivered("alice", 1, Duration.ofSeconds(20));
            assertThat(files).hasSize(1);
            Path maildir = mx.mx().maildir("example.test", "alice");
            for (Path p : List.of(files.get(0), maildir, maildir.resolve("new"), maildir.resolve("tmp"), maildir.resolve("cur"),
                    maildir.getParent())) {
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                assertThat(a.owner().getName()).as("owner of %s", p).isEqualTo("mail");
                assertThat(a.group().getName()).as("group of %s", p).isEqualTo("mail");
                assertThat(PosixFilePermissions.toString(a.permissions())).as("mode of %s", p)
                        .isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
            }
            byte[] delivered = Files.readAllBytes(files.get(0));
            assertThat(new String(delivered, StandardCharsets.UTF_8)).startsWith("Return-Path: <sender@client.test>")
                    .endsWith(MaildirText.lf(new String(original, StandardCharsets.UTF_8)));

            // Only the directories above the mailbox are opened for Dovecot to pass through; nothing is chowned.
            Path mailRoot = maildir.getParent().getParent();
            for (Path d = mailRoot; d.startsWith(mx.dir()); d = d.getParent()) {
                Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            try (Dovecot imap = Dovecot.start(mx.dir().resolve("dovecot"), mailRoot)) {
                byte[] fetched = imap.fetch("alice", "INBOX", 1);
                // byte-identical to what was sent (IMAP serves CRLF); on disk the same less CR
                assertThat(new String(fetched, StandardCharsets.UTF_8)).as(imap.log()).startsWith("Return-Path: <sender@client.test>\r\n")
                        .endsWith(new String(original, StandardCharsets.UTF_8));
                assertThat(fetched).endsWith(original);
                assertThat(MaildirText.lf(fetched)).isEqualTo(delivered);
            }
        }
    }
}
