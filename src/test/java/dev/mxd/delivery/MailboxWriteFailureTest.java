package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What each mailbox of a local delivery ends with when a write fails in a way other than the
 * usual I/O error: a bug or an Error half-way through an alias's mailboxes, a mailbox over its
 * quota, a directory fsync that fails after the copy is visible, and, with files given away, a
 * mailbox directory its owner replaced by a symbolic link.
 */
class MailboxWriteFailureTest {

    @TempDir
    Path dir;

    /**
     * An alias of three mailboxes whose second write ends in an unchecked exception: the first and
     * third copies stay counted and the retry writes only the second. Before, the exception left
     * the agent with no result at all, and the retry wrote all three again.
     */
    @Test
    void aFailureOtherThanAnIoErrorKeepsTheCopiesAlreadyWritten() throws Exception {
        Map<String, AtomicInteger> copies = new ConcurrentHashMap<>();
        AtomicInteger calls = new AtomicInteger();
        LocalDeliveryAgent agent = new LocalDeliveryAgent((domain, box, headers, text, length) -> {
            if (box.equals("bob") && calls.incrementAndGet() == 1) {
                throw new IllegalStateException("a bug, once");
            }
            copies.computeIfAbsent(box, k -> new AtomicInteger()).incrementAndGet();
            return dir.resolve(box);
        });
        RecipientStatus team = pending("team@example.test", List.of("alice", "bob", "carol"));
        Envelope e = envelope(team);

        List<DeliveryResult> first = agent.deliver(e, text(), List.of(team));
        assertThat(first.get(0)).isInstanceOf(DeliveryResult.Deferred.class);
        DeliveryResult.Deferred deferred = (DeliveryResult.Deferred) first.get(0);
        assertThat(deferred.detail()).contains("bob: java.lang.IllegalStateException: a bug, once");
        assertThat(deferred.retryRoute()).contains(new Route.Local("example.test", List.of("bob")));

        RecipientStatus retried = team.after(deferred, Instant.now());
        assertThat(agent.deliver(envelope(retried), text(), List.of(retried)).get(0)).isInstanceOf(DeliveryResult.Delivered.class);
        assertThat(copies).containsOnlyKeys("alice", "bob", "carol");
        assertThat(copies.values()).as("one copy each").allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
    }

    /**
     * A message larger than a file may be in the mailbox (EFBIG) fails its recipient at once with
     * 5.3.4: no retry fits it. Over the disk quota (EDQUOT) is retried with 4.2.2, never bounced:
     * every mailbox is written as one user, so the quota is the host's, as a full disk is; and a
     * recipient with another mailbox whose write failed otherwise is retried too.
     */
    @Test
    void aMessageTooBigForAMailboxFailsAndAFullQuotaIsRetried() throws Exception {
        LocalDeliveryAgent agent = new LocalDeliveryAgent((domain, box, headers, text, length) -> {
            switch (box) {
                case "full" -> throw new FileSystemException(dir.resolve(box).toString(), null, "Disk quota exceeded");
                case "big" -> throw new IOException("File too large");
                case "broken" -> throw new IOException("Input/output error");
                default -> {
                    return dir.resolve(box);
                }
            }
        });
        RecipientStatus full = pending("full@example.test", List.of("full"));
        RecipientStatus big = pending("big@example.test", List.of("big"));
        RecipientStatus both = pending("both@example.test", List.of("big", "broken"));
        List<DeliveryResult> results = agent.deliver(envelope(full, big, both), text(), List.of(full, big, both));

        assertThat(results.get(0)).isInstanceOf(DeliveryResult.Deferred.class);
        assertThat(results.get(0).status()).isEqualTo(EnhancedStatus.MAILBOX_FULL);
        assertThat(results.get(0).status().toString()).isEqualTo("4.2.2");
        assertThat(results.get(0).detail()).contains("full: ").contains("Disk quota exceeded");
        assertThat(results.get(1)).isInstanceOf(DeliveryResult.Failed.class);
        assertThat(results.get(1).status()).isEqualTo(EnhancedStatus.TOO_BIG);
        assertThat(results.get(1).detail()).startsWith("message too big for the mailbox: big: File too large");
        assertThat(results.get(2)).as("one of its mailboxes may take it later").isInstanceOf(DeliveryResult.Deferred.class);

        // An alias whose one mailbox took the copy and whose other cannot ever: failed, and the notice says who has it.
        RecipientStatus team = pending("team@example.test", List.of("alice", "big"));
        DeliveryResult partly = agent.deliver(envelope(team), text(), List.of(team)).get(0);
        assertThat(partly).isInstanceOf(DeliveryResult.Failed.class);
        assertThat(partly.detail()).startsWith("message too big for the mailbox: big: File too large")
                .endsWith("; a copy was delivered to alice@example.test");
    }

    /**
     * The copy is in new/ when the fsync of new/ fails: it is taken back out and the delivery fails,
     * so the retry writes the one copy. Before, the file stayed (a reader could see it) and the
     * retry wrote a second one.
     */
    @Test
    void aCopyWhoseDirectoryCannotBeSyncedIsTakenBackSoTheRetryWritesOne() throws Exception {
        AtomicInteger syncs = new AtomicInteger();
        Maildir m = new Maildir(dir.resolve("mail"), "mx.test", Clock.systemUTC(), Maildir.Ownership.NONE, d -> {
            if (d.endsWith("new") && syncs.incrementAndGet() == 1) { // the sync after the link, not the new directories'
                throw new IOException("Input/output error");
            }
        });
        byte[] text = "Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> m.deliver("example.test", "alice", new byte[0], text)).hasMessageContaining("Input/output error");
        Path maildir = m.directory("example.test", "alice");
        assertThat(listing(maildir.resolve("new"))).as("nothing left in new/").isEmpty();
        assertThat(listing(maildir.resolve("tmp"))).isEmpty();

        m.deliver("example.test", "alice", new byte[0], text);
        assertThat(listing(maildir.resolve("new"))).as("the retry's one copy").hasSize(1);
    }

    /**
     * A first delivery creates the mailbox's directories: the directory holding each new one is
     * fsynced too before the copy counts, not new/ alone, so a power cut cannot lose a copy
     * reported delivered along with the directory it was in. A second delivery syncs new/ only.
     */
    @Test
    void theDirectoriesAFirstDeliveryCreatesAreSyncedInTheirParents() throws Exception {
        List<Path> synced = new java.util.concurrent.CopyOnWriteArrayList<>();
        Path root = dir.resolve("mail");
        Maildir m = new Maildir(root, "mx.test", Clock.systemUTC(), Maildir.Ownership.NONE, synced::add);
        byte[] text = "Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        m.deliver("example.test", "alice", new byte[0], text);
        Path maildir = m.directory("example.test", "alice");
        assertThat(synced).containsExactlyInAnyOrder(dir, root, root.resolve("example.test"), maildir.getParent(), maildir,
                maildir.resolve("new"));
        synced.clear();
        m.deliver("example.test", "alice", new byte[0], text);
        assertThat(synced).containsExactly(maildir.resolve("new"));
    }

    /**
     * With files given away (mxd as root, delivery.maildir-owner), the mailbox owner owns the
     * mailbox's directories and could put a link to any directory in place of new/: mxd, as root,
     * would write and give away files there. Such a link (not owned by root) is refused and nothing
     * is written there; a link root made (the operator's: a mailbox on another disk) is followed.
     */
    @Test
    void aMailboxDirectoryReplacedByTheOwnersLinkIsRefusedWhenFilesAreGivenAway() throws Exception {
        Assumptions.assumeTrue(((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0, "needs root");
        Maildir.Ownership nobody = Maildir.Ownership.of(Optional.of("nobody"), Optional.empty());
        Maildir m = new Maildir(dir.resolve("mail"), "mx.test", Clock.systemUTC(), nobody);
        byte[] text = "Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        m.deliver("example.test", "alice", new byte[0], text);
        Path maildir = m.directory("example.test", "alice");
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        for (Path f : listing(maildir.resolve("new"))) {
            Files.delete(f);
        }
        Files.delete(maildir.resolve("new"));
        Path link = Files.createSymbolicLink(maildir.resolve("new"), elsewhere);
        nobody.apply(link); // made by the mailbox owner

        assertThatThrownBy(() -> m.deliver("example.test", "alice", new byte[0], text))
                .isInstanceOf(FileSystemException.class).hasMessageContaining("symbolic link not owned by root");
        assertThat(listing(elsewhere)).isEmpty();
        assertThat(listing(maildir.resolve("tmp"))).isEmpty();

        Files.getFileAttributeView(link, java.nio.file.attribute.PosixFileAttributeView.class, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                .setOwner(dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("root"));
        m.deliver("example.test", "alice", new byte[0], text);
        assertThat(listing(elsewhere)).as("root's own link is followed").hasSize(1);
    }

    /**
     * Giving a file away changes the file named, never the target of a link put in its place (the
     * mailbox owner can swap a new file in tmp/ for a link to /etc/shadow between its creation and
     * the chown). Needs root, as giving files away does.
     */
    @Test
    void givingAwayALinkLeavesItsTargetAlone() throws Exception {
        Assumptions.assumeTrue(((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0, "needs root");
        Maildir.Ownership nobody = Maildir.Ownership.of(Optional.of("nobody"), Optional.empty());
        Path target = Files.writeString(dir.resolve("roots-file"), "secret");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        nobody.apply(link);
        assertThat(Files.getOwner(target, java.nio.file.LinkOption.NOFOLLOW_LINKS).getName()).isEqualTo("root");
        assertThat(Files.getOwner(link, java.nio.file.LinkOption.NOFOLLOW_LINKS).getName()).isEqualTo("nobody");
    }

    private static List<Path> listing(Path d) throws IOException {
        try (var s = Files.list(d)) {
            return new ArrayList<>(s.toList());
        }
    }

    private Path text() throws IOException {
        return Files.write(dir.resolve("text"), "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    private static RecipientStatus pending(String address, List<String> mailboxes) {
        Recipient r = new Recipient(Mailbox.parse(address), RcptParameters.NONE, new Route.Local("example.test", mailboxes));
        return new RecipientStatus(r, DeliveryState.PENDING, "", Instant.now());
    }

    private Envelope envelope(RecipientStatus... recipients) throws IOException {
        return new Envelope("Q1", Optional.of(Mailbox.parse("a@x.test")), MailParameters.NONE, List.of(recipients),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text()));
    }
}
