package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {

    @TempDir
    Path dir;

    static ReceivedMessage message(String body) {
        return new ReceivedMessage(Optional.of(Mailbox.parse("a@b.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse("alice@example.test"), RcptParameters.NONE, new Route.Local("example.test", List.of("alice")))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                body.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void storedMessageIsInIncomingWithTextAndEnvelope() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        StoreOutcome o = s.store(message("Subject: x\r\n\r\nhi\r\n"));
        String id = ((StoreOutcome.Stored) o).queueId();
        assertThat(s.ids(QueueState.INCOMING)).containsExactly(id);
        Envelope e = s.envelope(QueueState.INCOMING, id);
        String text = new String(Files.readAllBytes(s.text(id)), 0, (int) e.size(), StandardCharsets.UTF_8);
        assertThat(text).startsWith("Received: from client.test ([127.0.0.1])\r\n\tby mx.test (mxd) with ESMTP id " + id)
                .endsWith("Subject: x\r\n\r\nhi\r\n");
        // One inode per message: incoming/ID.json is a hard link to the text, whose end holds the envelope.
        assertThat(Files.isSameFile(dir.resolve("incoming").resolve(id + ".json"), s.text(id))).isTrue();
        assertThat(Files.readString(s.text(id))).endsWith("}\n#mxd-envelope " + String.format("%010d",
                Files.size(s.text(id)) - e.size() - "\n#mxd-envelope 0000000000\n".length()) + "\n");
        assertThat(e.sender()).contains(Mailbox.parse("a@b.test"));
        assertThat(e.recipients()).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo(DeliveryState.PENDING));
        assertThat(dev.mxd.testing.SpoolFiles.strays(dir)).isEmpty();
    }

    /**
     * A message filed in deferred/ is the operator's from the rename on, while the move's directory fsync still runs: a
     * hold there (here from the hook) left the delivery's own next-attempt time to fail ("delivery attempt failed:
     * NoSuchFileException"), and a flush there was undone by it. The time is set before the move.
     */
    @Test
    void aDeferralSetsItsTimeBeforeTheMessageReachesDeferred() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String id = ((StoreOutcome.Stored) s.store(message("Subject: x\r\n\r\nhi\r\n"))).queueId();
        s.activate(id, QueueState.INCOMING);
        Instant next = Instant.now().plusSeconds(600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        Spool.movedHookForTest = (moved, to) -> {
            if (to == QueueState.DEFERRED && once.compareAndSet(false, true)) {
                try {
                    s.move(moved, QueueState.DEFERRED, QueueState.HOLD); // the operator's hold, in the window
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        try {
            s.defer(id, QueueState.ACTIVE, next);
        } finally {
            Spool.movedHookForTest = (m, t) -> { };
        }
        assertThat(once).isTrue();
        assertThat(s.state(id)).contains(QueueState.HOLD);
        // and a deferral that meets no operator has its time in deferred/
        String other = ((StoreOutcome.Stored) s.store(message("Subject: y\r\n\r\nhi\r\n"))).queueId();
        s.activate(other, QueueState.INCOMING);
        s.defer(other, QueueState.ACTIVE, next);
        assertThat(s.nextAttempt(other)).isEqualTo(next);

        // a crash between the time and the move: active/ with a time ahead, moved back to incoming/ at start, due at once
        String crashed = ((StoreOutcome.Stored) s.store(message("Subject: z\r\n\r\nhi\r\n"))).queueId();
        s.activate(crashed, QueueState.INCOMING);
        java.nio.file.Files.setLastModifiedTime(dir.resolve("active").resolve(crashed + ".json"),
                java.nio.file.attribute.FileTime.from(next));
        Spool restarted = Spool.open(dir, "mx.test", Clock.systemUTC());
        assertThat(restarted.state(crashed)).contains(QueueState.INCOMING);
        assertThat(restarted.due(QueueState.INCOMING, Instant.now(), 10)).contains(crashed);
    }

    /**
     * A start's recovery waits while another process (mxd quarantine release, attached beside the server) holds the
     * spool against it: it listed the envelopes, met the release's text whose envelope was linked meanwhile, and deleted
     * it as never acknowledged, after the release had said "queued as". The other process here is a python holding the
     * same POSIX lock shared, as {@link Spool#holdAgainstRecovery} does; an attached hold shares it.
     */
    @Test
    void recoveryWaitsForAProcessAttachedBeside() throws Exception {
        Spool first = Spool.open(dir, "mx.test", Clock.systemUTC());
        first.holdAgainstRecovery().close();
        Process holder = new ProcessBuilder("python3", "-c", "import fcntl,sys\nf=open(sys.argv[1],'a+')\n"
                + "fcntl.lockf(f, fcntl.LOCK_SH)\nprint('held', flush=True)\nsys.stdin.read()\n",
                dir.resolve(Spool.ATTACH_LOCK).toString()).redirectErrorStream(true).start();
        try {
            assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream())).readLine()).isEqualTo("held");
            java.util.concurrent.CompletableFuture<Spool> starting = startingBeside();
            Thread.sleep(700);
            assertThat(starting).as("recovery waits while the other process holds the spool").isNotDone();
            holder.getOutputStream().close(); // the other process ends, and its lock with it
            assertThat(starting.get(20, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
        } finally {
            holder.destroyForcibly();
        }
    }

    /** A server's start on the spool (its recovery), on another thread. */
    private java.util.concurrent.CompletableFuture<Spool> startingBeside() {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return Spool.open(dir, "mx.test", Clock.systemUTC());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /**
     * In one JVM (a release beside a node started by a test, the demo, or an embedding application) two holds share the
     * lock and a start waits for both, where the JVM's refusal of a second lock of one file threw
     * OverlappingFileLockException at the second release or at the start.
     */
    @Test
    void holdsAndRecoveryInOneProcessWaitForEachOther() throws Exception {
        Spool.open(dir, "mx.test", Clock.systemUTC());
        Spool attached = Spool.attach(dir, "mx.test", Clock.systemUTC());
        java.io.Closeable one = attached.holdAgainstRecovery();
        java.io.Closeable two = attached.holdAgainstRecovery();
        java.util.concurrent.CompletableFuture<Spool> starting = startingBeside();
        Thread.sleep(300);
        assertThat(starting).isNotDone();
        one.close();
        one.close(); // again: nothing (it let another holder's share go, or miscounted)
        Thread.sleep(200);
        assertThat(starting).as("one hold is left").isNotDone();
        java.util.concurrent.CompletableFuture.runAsync(() -> { // let go by another thread than took it
            try {
                two.close();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(starting.get(20, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
        attached.holdAgainstRecovery().close(); // and it can be held again after
    }

    /** The spool root a start creates is private (0700) whatever the umask: queued mail is no other local user's to read. */
    @Test
    void aNewSpoolIsPrivate() throws Exception {
        Path root = dir.resolve("data").resolve("spool");
        Spool.open(root, "mx.test", Clock.systemUTC());
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(root))).isEqualTo("rwx------");
        dev.mxd.filter.Quarantine q = new dev.mxd.filter.Quarantine(dir.resolve("data"));
        q.lock().close();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(q.directory())))
                .isEqualTo("rwx------");
    }

    /**
     * A text whose first line is no header field (body only, or a line that would fold into the
     * Received field) gets an empty line after mxd's Received field, as Postfix's cleanup writes
     * it; a text with a header, or an empty header, is stored as it came. The client's text may
     * come an octet at a time.
     */
    @Test
    void aTextWithoutHeaderGetsItsEmptyLineAfterTheTraceField() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String[][] cases = {
            {"Hello there, no header\r\nsecond\r\n", "\r\nHello there, no header\r\nsecond\r\n"},
            {" folded into Received?\r\n", "\r\n folded into Received?\r\n"},
            {"Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n"},
            {"Subject : obsolete form\r\n\r\nb\r\n", "Subject : obsolete form\r\n\r\nb\r\n"},
            {"\r\nonly a body after an empty header\r\n", "\r\nonly a body after an empty header\r\n"},
            {":colon first\r\n", "\r\n:colon first\r\n"},
            {"Two words: no field\r\n", "\r\nTwo words: no field\r\n"},
            {"NoColonAndNoEnd", "\r\nNoColonAndNoEnd"},
            {"X".repeat(1200) + ": long name\r\n", "\r\n" + "X".repeat(1200) + ": long name\r\n"},
            // white space after a name, longer than any line: no field (it overran the held octets, and the session)
            {"X" + " ".repeat(1200) + "\r\nSubject: hi\r\n\r\nbody\r\n", "\r\nX" + " ".repeat(1200) + "\r\nSubject: hi\r\n\r\nbody\r\n"},
            {"Subject" + "\t".repeat(1000) + ": x\r\n", "\r\nSubject" + "\t".repeat(1000) + ": x\r\n"},
            {"", ""},
        };
        for (String[] c : cases) {
            ReceivedMessage m = message(c[0]);
            dev.mxd.mail.MessageStore.IncomingMessage d = s.begin(m.transaction());
            for (byte b : m.content()) {
                d.write(new byte[] {b}, 0, 1);
            }
            String id = ((StoreOutcome.Stored) d.commit()).queueId();
            Envelope e = s.envelope(QueueState.INCOMING, id);
            String text = new String(Files.readAllBytes(s.text(id)), 0, (int) e.size(), StandardCharsets.US_ASCII);
            String trace = text.substring(0, text.indexOf(" +0000\r\n") + 8);
            assertThat(text.substring(trace.length())).as(c[0]).isEqualTo(c[1]);
        }
    }

    /**
     * An IPv6 client is written into the Received field in RFC 5952's form, as Postfix writes it, and without the
     * scope the JDK appends to a link-local address ("fe80:0:0:0:0:0:0:1%2" is no RFC 5321 IPv6-addr).
     */
    @Test
    void anIpv6ClientIsWrittenShortAndWithoutItsScope() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        byte[] linkLocal = new byte[16];
        linkLocal[0] = (byte) 0xfe;
        linkLocal[1] = (byte) 0x80;
        linkLocal[15] = 1;
        for (java.net.InetAddress a : new java.net.InetAddress[] {java.net.Inet6Address.getByAddress(null, linkLocal, 2),
                java.net.InetAddress.getByName("2001:db8:0:0:0:0:0:7")}) {
            ReceivedMessage base = message("Subject: v6\r\n\r\nb\r\n");
            ReceivedMessage m = new ReceivedMessage(base.sender(), base.parameters(), base.recipients(),
                    new ClientInfo(new InetSocketAddress(a, 40000), "client.test", true, false), base.arrival(), base.content());
            String id = ((StoreOutcome.Stored) s.store(m)).queueId();
            String text = new String(Files.readAllBytes(s.text(id)), StandardCharsets.US_ASCII);
            String expected = a.getAddress()[0] == (byte) 0xfe ? "[IPv6:fe80::1]" : "[IPv6:2001:db8::7]";
            assertThat(text.substring(0, text.indexOf("\r\n"))).isEqualTo("Received: from client.test (" + expected + ")");
        }
    }

    /**
     * A first line "From " (after any number of "&gt;") is a Unix mailbox's separator, as a script that pipes an mbox file
     * to SMTP sends it: it becomes an X-Mailbox-Line field, as Postfix's smtpd writes it, and the client's header section
     * after it stays a header; it was body, after an empty line. Bcc, Resent-Bcc and Content-Length fields are left out of
     * the header section, as Postfix's cleanup leaves them out. The text may come an octet at a time, three at a time or
     * whole.
     */
    @Test
    void aMailboxSeparatorFirstLineBecomesAFieldAndTheHeaderStays() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String[][] cases = {
            {"From a@c.test Mon Jan  1 00:00:00 2024\r\nFrom: A <a@c.test>\r\nSubject: q\r\n\r\nbody\r\n",
                "X-Mailbox-Line: From a@c.test Mon Jan  1 00:00:00 2024\r\nFrom: A <a@c.test>\r\nSubject: q\r\n\r\nbody\r\n"},
            {">>From x\r\nFrom x\r\nSubject: q\r\n\r\nb\r\n",
                "X-Mailbox-Line: >>From x\r\nX-Mailbox-Line: From x\r\nSubject: q\r\n\r\nb\r\n"},
            {"From x\r\n folded?\r\n", "X-Mailbox-Line: From x\r\n\r\n folded?\r\n"},
            {"From x\r\nplain body\r\n", "X-Mailbox-Line: From x\r\n\r\nplain body\r\n"},
            {"From x\r\n\r\nbody\r\n", "X-Mailbox-Line: From x\r\n\r\nbody\r\n"},
            {"From x", "X-Mailbox-Line: From x"},
            {"From: a@c.test\r\n\r\nb\r\n", "From: a@c.test\r\n\r\nb\r\n"},
            {"From  x\r\n", "X-Mailbox-Line: From  x\r\n"},
            {"from x\r\n", "\r\nfrom x\r\n"},
            {"From\tx\r\n", "\r\nFrom\tx\r\n"},
            {"X>From x\r\n", "\r\nX>From x\r\n"},
            {"Subject: q\r\nFrom x\r\n", "Subject: q\r\nFrom x\r\n"},
            // Bcc, Resent-Bcc and Content-Length are left out of the header section, wherever the first line took it
            {"Bcc: boss@c.test\r\nSubject: q\r\nContent-Length: 3\r\n\r\nBcc: body\r\n", "Subject: q\r\n\r\nBcc: body\r\n"},
            {"From x\r\nResent-Bcc: a@c.test,\r\n b@c.test\r\nSubject: q\r\n\r\nb\r\n", "X-Mailbox-Line: From x\r\nSubject: q\r\n\r\nb\r\n"},
            {"body only\r\nBcc: x\r\n", "\r\nbody only\r\nBcc: x\r\n"},
            {"Bcc: x", ""},
        };
        for (int chunk : new int[] {1, 3, Integer.MAX_VALUE}) {
            for (String[] c : cases) {
                ReceivedMessage m = message(c[0]);
                dev.mxd.mail.MessageStore.IncomingMessage d = s.begin(m.transaction());
                byte[] content = m.content();
                for (int off = 0; off < content.length; off += chunk) {
                    d.write(content, off, Math.min(chunk, content.length - off));
                }
                String id = ((StoreOutcome.Stored) d.commit()).queueId();
                Envelope e = s.envelope(QueueState.INCOMING, id);
                String text = new String(Files.readAllBytes(s.text(id)), 0, (int) e.size(), StandardCharsets.US_ASCII);
                String trace = text.substring(0, text.indexOf(" +0000\r\n") + 8);
                assertThat(text.substring(trace.length())).as(chunk + ": " + c[0]).isEqualTo(c[1]);
            }
        }
    }

    /**
     * An id that turns out to be taken when the text is written (drawn twice: a clock set back across a restart, or
     * mxd quarantine release beside the server): the commit fails with 452, and the files already there, another
     * message's that had its 250, stay. The failed commit removed them as if they were its own: that message was lost.
     */
    @Test
    void aCommitThatFindsItsIdTakenLeavesTheOtherMessagesFiles() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        ReceivedMessage m = message("Subject: late\r\n\r\nsecond\r\n");
        dev.mxd.mail.MessageStore.IncomingMessage d = s.begin(m.transaction());
        String id = d.id();
        byte[] theirs = "the other message's text and envelope".getBytes(StandardCharsets.US_ASCII);
        Path text = dir.resolve("data").resolve(id);
        Files.write(text, theirs);
        Path envelope = dir.resolve("incoming").resolve(id + ".json");
        Files.createLink(envelope, text);
        d.write(m.content(), 0, m.content().length);
        StoreOutcome o = d.commit();
        assertThat(o).isInstanceOf(StoreOutcome.Failed.class);
        assertThat(((StoreOutcome.Failed) o).reply().summary()).startsWith("452 4.3.1");
        assertThat(Files.readAllBytes(text)).as("the other message's text").isEqualTo(theirs);
        assertThat(Files.readAllBytes(envelope)).as("the other message's envelope").isEqualTo(theirs);

        // The same when a filter rewrites (tags) the text on the way in: the rewritten text was renamed over the name.
        dev.mxd.mail.MessageStore.IncomingMessage tagged = s.begin(m.transaction());
        Path taken = dir.resolve("data").resolve(tagged.id());
        Files.write(taken, theirs);
        tagged.write(m.content(), 0, m.content().length);
        StoreOutcome t = tagged.commit((in, out) -> {
            out.write("X-Tag: yes\r\n".getBytes(StandardCharsets.US_ASCII));
            in.transferTo(out);
        });
        assertThat(t).isInstanceOf(StoreOutcome.Failed.class);
        assertThat(Files.readAllBytes(taken)).as("the other message's text, under a rewrite").isEqualTo(theirs);
        assertThat(taken.resolveSibling(taken.getFileName() + ".rewritten")).doesNotExist();
    }

    @Test
    void queueIdsAreUnique() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            ids.add(((StoreOutcome.Stored) s.store(message("m" + i + "\r\n"))).queueId());
        }
        assertThat(ids).hasSize(200);
        assertThat(Spool.open(dir, "mx.test", Clock.systemUTC()).ids(QueueState.INCOMING)).hasSize(200);
    }

    @Test
    void ioFailureIs452AndNothingIsAccepted() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        Files.delete(dir.resolve("incoming"));
        Files.writeString(dir.resolve("incoming"), "not a directory"); // every envelope write now fails
        StoreOutcome o = s.store(message("x\r\n"));
        assertThat(o).isInstanceOf(StoreOutcome.Failed.class);
        assertThat(((StoreOutcome.Failed) o).reply().summary()).startsWith("452 4.3.1");
        try (var data = Files.list(dir.resolve("data"))) {
            assertThat(data).isEmpty();
        }
        assertThat(dev.mxd.testing.SpoolFiles.strays(dir)).isEmpty();
    }

    @Test
    void recoveryUndoesWhatWasNeverAcknowledged() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC(), false);
        String kept = ((StoreOutcome.Stored) s.store(message("kept\r\n"))).queueId();
        String active = ((StoreOutcome.Stored) s.store(message("active\r\n"))).queueId();
        s.move(active, QueueState.INCOMING, QueueState.ACTIVE);
        Files.writeString(dir.resolve("tmp").resolve("HALF.msg"), "half-written by an earlier version");
        Files.writeString(dir.resolve("incoming").resolve("HALF.json.new"), "{\"version\" : 1, \"id\"");
        Files.writeString(dir.resolve("data").resolve(kept + ".rewritten"), "a filter's rewrite, cut short");
        Files.writeString(dir.resolve("data").resolve("ORPHAN"), "text whose envelope was never written");
        String textless = ((StoreOutcome.Stored) s.store(message("crash before data/ was synced\r\n"))).queueId();
        Files.delete(dir.resolve("data").resolve(textless)); // its rename into data/ never reached the disk
        String finished = ((StoreOutcome.Stored) s.store(message("delivered, its removal half on disk\r\n"))).queueId();
        s.defer(finished, QueueState.INCOMING, Instant.now());
        Files.delete(dir.resolve("data").resolve(finished)); // the text's unlink reached the disk, the envelope's did not
        Spool again = Spool.open(dir, "mx.test", Clock.systemUTC(), false);
        assertThat(again.state(finished)).isEmpty();
        assertThat(again.state(active)).contains(QueueState.INCOMING);
        assertThat(again.ids(QueueState.INCOMING)).containsExactlyInAnyOrder(kept, active);
        assertThat(dir.resolve("tmp").resolve("HALF.msg")).doesNotExist();
        assertThat(dir.resolve("incoming").resolve("HALF.json.new")).doesNotExist();
        assertThat(dir.resolve("data").resolve(kept + ".rewritten")).doesNotExist();
        assertThat(dev.mxd.testing.SpoolFiles.strays(dir)).isEmpty();
        assertThat(dir.resolve("data").resolve("ORPHAN")).doesNotExist();
        assertThat(again.state(textless)).isEmpty();
        assertThat(dir.resolve("data").resolve(kept)).exists();
    }

    @Test
    void recipientStateIsPersistedInPlace() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        String id = ((StoreOutcome.Stored) s.store(message("x\r\n"))).queueId();
        Envelope e = s.envelope(QueueState.INCOMING, id);
        Envelope delivered = e.withRecipients(List.of(e.recipients().get(0).with(DeliveryState.DELIVERED, "ok", Instant.now())));
        byte[] textBefore = Files.readAllBytes(s.text(id));
        s.update(QueueState.INCOMING, delivered);
        assertThat(s.envelope(QueueState.INCOMING, id).done()).isTrue();
        // The update is a plain JSON file of its own; the text file (and the envelope it was accepted with) is untouched.
        assertThat(Files.isSameFile(dir.resolve("incoming").resolve(id + ".json"), s.text(id))).isFalse();
        assertThat(Files.readString(dir.resolve("incoming").resolve(id + ".json"))).startsWith("{");
        assertThat(Files.readAllBytes(s.text(id))).isEqualTo(textBefore);
        s.remove(QueueState.INCOMING, id);
        assertThat(s.state(id)).isEmpty();
        assertThat(s.text(id)).doesNotExist();
        String other = ((StoreOutcome.Stored) s.store(message("y\r\n"))).queueId();
        s.finish(QueueState.INCOMING, other);
        assertThat(s.state(other)).isEmpty();
        assertThat(s.text(other)).doesNotExist();
        assertThat(dev.mxd.testing.SpoolFiles.strays(dir)).isEmpty();
    }
}
