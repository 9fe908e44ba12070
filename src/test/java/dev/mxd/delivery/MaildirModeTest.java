package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 15 point 7: Maildir files are private to the mailbox (0600, directories 0700), whoever owns them. */
class MaildirModeTest {

    @Test
    void filesAre0600AndNewDirectories0700(@TempDir Path root) throws IOException {
        Maildir m = new Maildir(root, "mx.test", Clock.systemUTC());
        byte[] text = "Subject: x\r\n\r\nbody without a final line end".getBytes(StandardCharsets.UTF_8);
        Path file = m.deliver("example.test", "alice", "Return-Path: <>\r\n".getBytes(StandardCharsets.UTF_8), text);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        Path dir = m.directory("example.test", "alice");
        // The domain's directory too: made with the umask's mode it kept the mailbox owner's IMAP server out.
        for (Path d : new Path[] {dir.getParent().getParent(), dir.getParent(), dir, dir.resolve("tmp"), dir.resolve("new"), dir.resolve("cur")}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d))).as(d.toString()).isEqualTo("rwx------");
        }
        assertThat(Files.readString(file)).isEqualTo("Return-Path: <>\nSubject: x\n\nbody without a final line end");

        Path spooled = Files.write(root.resolve("spooled"), "Subject: y\r\n\r\n.dot\r\nend\r\nENVELOPE".getBytes(StandardCharsets.UTF_8));
        Path second = m.deliver("example.test", "alice", new byte[0], spooled, Files.size(spooled) - "ENVELOPE".length());
        assertThat(Files.readString(second)).isEqualTo("Subject: y\n\n.dot\nend\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(second))).isEqualTo("rw-------");
        assertThat(Files.list(dir.resolve("tmp"))).isEmpty();
    }

    /** A host name of 253 characters (the DNS limit) still makes file names a file system takes (at most 255 octets). */
    @Test
    void aLongHostNameStillMakesAFileName(@TempDir Path root) throws IOException {
        String host = ("a".repeat(62) + ".").repeat(4) + "a";
        Maildir m = new Maildir(root, host, Clock.systemUTC());
        Path file = m.deliver("example.test", "alice", new byte[0], "Subject: x\r\n\r\nhi\r\n".getBytes(StandardCharsets.UTF_8));
        assertThat(file.getFileName().toString()).contains(".aaaa").hasSizeLessThanOrEqualTo(255);
        assertThat(Files.readString(file)).contains("Subject: x");
    }

    /**
     * Two deliveries under one name (two nodes sharing a hostname and a mail store, a clock set
     * back): the second gets another name; a rename would have replaced the first message.
     */
    @Test
    void aNameTakenInNewIsNeverReplaced(@TempDir Path root) throws IOException {
        Clock fixed = Clock.fixed(java.time.Instant.parse("2026-12-06T00:00:00Z"), java.time.ZoneOffset.UTC);
        Maildir one = new Maildir(root, "mx.test", fixed);
        Maildir two = new Maildir(root, "mx.test", fixed); // same pid, same clock, its own counter: the same first name
        Path first = one.deliver("example.test", "alice", new byte[0], "Subject: one\r\n\r\n1\r\n".getBytes(StandardCharsets.UTF_8));
        Path second = two.deliver("example.test", "alice", new byte[0], "Subject: two\r\n\r\n2\r\n".getBytes(StandardCharsets.UTF_8));
        assertThat(second).isNotEqualTo(first);
        assertThat(Files.readString(first)).contains("Subject: one");
        assertThat(Files.readString(second)).contains("Subject: two");
        Path dir = one.directory("example.test", "alice");
        try (var news = Files.list(dir.resolve("new")); var tmps = Files.list(dir.resolve("tmp"))) {
            assertThat(news).hasSize(2);
            assertThat(tmps).isEmpty();
        }
    }

    @Test
    void anUnknownOwnerIsRefusedByName() {
        assertThatThrownBy(() -> Maildir.Ownership.of(Optional.of("no-such-user-mxd"), Optional.empty()))
                .isInstanceOf(IOException.class).hasMessageContaining("delivery.maildir-owner: no user 'no-such-user-mxd'");
        // the group named as such, beside an owner that exists (root: a group needs mxd to run as root anyway)
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a group needs root");
        assertThatThrownBy(() -> Maildir.Ownership.of(Optional.of("root"), Optional.of("no-such-group-mxd")))
                .isInstanceOf(IOException.class).hasMessageContaining("delivery.maildir-group: no group 'no-such-group-mxd'");
    }

    @Test
    void noOwnerNoLookup() throws IOException {
        assertThat(Maildir.Ownership.of(Optional.empty(), Optional.empty())).isSameAs(Maildir.Ownership.NONE);
    }
}
