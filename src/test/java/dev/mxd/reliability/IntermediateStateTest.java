package dev.mxd.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.mxd.filter.MessageSource;
import dev.mxd.filter.Quarantine;
import dev.mxd.filter.QuarantineEntry;
import dev.mxd.filter.ScanEnvelope;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MaildirText;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.SpoolFiles;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every change on disk that takes several steps (the spool, the quarantine, a Maildir delivery),
 * stopped between two of them as a crash would stop it (issue 13): each test builds that state
 * in a data directory, starts a real mxd on it, and checks that start-up succeeds, that an
 * acknowledged message reaches each mailbox exactly once (or at least once, where a crash falls
 * between a delivery and its record), that a message never acknowledged is not delivered, and
 * that nothing half-written reaches a mailbox. TestMx's example.test has alice and bob, and the
 * alias team → alice, bob.
 */
class IntermediateStateTest {

    private static final String CONFIG = "delivery:\n  retry: {first: 1s, max: 1s, give-up: 1h}\n  scan-interval: 200ms\n";
    private static final String HOST = "mx1.example.test";
    private static final String END = "END-OF-MESSAGE";

    @TempDir
    Path dir;

    private TestMx mx;

    @AfterEach
    void stop() {
        if (mx != null) {
            mx.close();
        }
    }

    // ---- the spool (docs/spool.md) ----

    @Test
    void textWithoutEnvelopeNeverAcknowledgedIsRemoved() throws Exception {
        Spool s = spool();
        // The text spilled to data/ while arriving, cut off mid-DATA (no envelope, no 250) ...
        Files.writeString(spoolDir().resolve("data").resolve("MIDDATA00001"), "Received: from client.test\r\nSubject: cut");
        // ... and a text written with its envelope footer and fsynced, but never linked into incoming/.
        String unlinked = accepted(s, "unlinked", "alice");
        Files.delete(envelope(QueueState.INCOMING, unlinked));
        journalNeverSynced(); // its record in the accept journal never reached the disk either: no 250
        startMxd();
        assertThat(SpoolFiles.strays(spoolDir())).isEmpty();
        assertThat(spoolDir().resolve("data").resolve("MIDDATA00001")).doesNotExist();
        assertThat(mx.mx().spool().state(unlinked)).isEmpty();
        awaitQueueEmpty();
        assertThat(copies("alice")).isZero();
    }

    @Test
    void linkedIntoIncomingBeforeTheDirectoryFsyncIsDeliveredOnce() throws Exception {
        // A kill -9 after the link and before the fsync of data/ and incoming/ leaves exactly this.
        String id = accepted(spool(), "linked", "alice", "team");
        assertThat(Files.isSameFile(envelope(QueueState.INCOMING, id), spoolDir().resolve("data").resolve(id))).isTrue();
        startAndDrain();
        assertOneCopyEach();
    }

    @Test
    void envelopeWhoseTextNeverReachedTheDiskIsRemoved() throws Exception {
        // The link reached the disk, the text's name in data/ did not (a power cut in the shared fsync): never answered 250.
        String id = accepted(spool(), "textless", "alice");
        Files.delete(spoolDir().resolve("data").resolve(id));
        journalNeverSynced();
        startMxd();
        assertThat(mx.mx().spool().state(id)).isEmpty();
        awaitQueueEmpty();
        assertThat(copies("alice")).isZero();
        assertThat(SpoolFiles.strays(spoolDir())).isEmpty();
    }

    @Test
    void unfinishedFilterRewriteAndOldTmpFilesAreRemovedAndTheMessageKept() throws Exception {
        String id = accepted(spool(), "tagged", "alice");
        Files.writeString(spoolDir().resolve("data").resolve(id + ".rewritten"), "X-Spam-Status: Yes\r\nSubj");
        Files.writeString(spoolDir().resolve("tmp").resolve("OLD.msg"), "written by an earlier version, cut short");
        startAndDrain();
        assertThat(copies("alice")).isEqualTo(1);
        assertThat(SpoolFiles.strays(spoolDir())).isEmpty();
    }

    @Test
    void envelopeRewriteCutShortKeepsTheLastRecordedStates() throws Exception {
        Spool s = spool();
        String id = aliceDeliveredAndRecorded(s, "rewrite");
        // Then the next rewrite (bob's) stopped half-written, during an attempt.
        s.activate(id, QueueState.INCOMING);
        Files.writeString(spoolDir().resolve("active").resolve(id + ".json.new"), "{\"version\" : 1, \"id\" : \"" + id);
        startAndDrain();
        assertThat(copies("alice")).as("alice, recorded as delivered").isEqualTo(1);
        assertThat(copies("bob")).isEqualTo(1);
        assertThat(SpoolFiles.strays(spoolDir())).isEmpty();
    }

    @Test
    void envelopeRewrittenButNotRenamedDeliversAgainAtWorst() throws Exception {
        String id = aliceDeliveredAndRecorded(spool(), "not renamed");
        // That envelope (alice delivered) is complete in ID.json.new; the rename over ID.json never happened.
        Files.move(envelope(QueueState.INCOMING, id), spoolDir().resolve("incoming").resolve(id + ".json.new"));
        Files.createLink(envelope(QueueState.INCOMING, id), spoolDir().resolve("data").resolve(id)); // the envelope it was accepted with
        startAndDrain();
        assertThat(copies("alice")).as("at least once, a duplicate allowed").isBetween(1, 2);
        assertThat(copies("bob")).isEqualTo(1);
        assertThat(SpoolFiles.strays(spoolDir())).isEmpty();
    }

    @Test
    void everyQueueStateAtTheCrashIsDeliveredOrKept() throws Exception {
        Spool s = spool();
        String active = accepted(s, "active", "alice");
        s.activate(active, QueueState.INCOMING);
        String due = accepted(s, "deferred, its retry time not yet set", "alice");
        s.move(due, QueueState.INCOMING, QueueState.DEFERRED); // Spool.defer: moved, then the time set: a crash between
        String later = accepted(s, "deferred for two seconds", "bob");
        s.defer(later, QueueState.INCOMING, Instant.now().plusSeconds(2));
        String held = accepted(s, "held", "bob");
        s.move(held, QueueState.INCOMING, QueueState.HOLD);
        startAndDrain();
        assertThat(subjects("alice")).containsExactlyInAnyOrder("active", "deferred, its retry time not yet set");
        assertThat(subjects("bob")).containsExactly("deferred for two seconds");
        assertThat(mx.mx().spool().state(held)).as("held by the operator: kept, not delivered").contains(QueueState.HOLD);
    }

    @Test
    void removalCutShortLeavesNothingToDeliverAgain() throws Exception {
        Spool s = spool();
        // Spool.finish and Spool.remove unlink the envelope, then the text: the envelope's unlink done ...
        String textLeft = accepted(s, "text left", "alice");
        deliverByHand("alice", textLeft);
        Files.delete(envelope(QueueState.INCOMING, textLeft));
        // ... or, with finish not waiting for the disk, only the text's unlink reached it (every recipient done).
        String envelopeLeft = accepted(s, "envelope left", "bob");
        deliverByHand("bob", envelopeLeft);
        s.update(QueueState.INCOMING, withState(s.envelope(QueueState.INCOMING, envelopeLeft), "bob", DeliveryState.DELIVERED));
        s.activate(envelopeLeft, QueueState.INCOMING);
        Files.delete(spoolDir().resolve("data").resolve(envelopeLeft));
        // Both accepted long enough ago that a checkpoint took them out of the accept journal (a finish still in it
        // writes its record there first: AcceptJournalTest).
        journalNeverSynced();
        startMxd();
        assertThat(mx.mx().spool().state(textLeft)).isEmpty();
        assertThat(mx.mx().spool().state(envelopeLeft)).isEmpty();
        awaitQueueEmpty();
        assertOneCopyEach();
        assertThat(SpoolFiles.strays(spoolDir())).isEmpty();
    }

    @Test
    void spareFilesAreKeptAndASpareCaughtHalfWayIntoATextIsRemoved() throws Exception {
        Spool s = spool();
        String waiting = accepted(s, "waiting", "bob"); // an acknowledged message waiting in incoming/
        // Two finished messages' files became spares (Spool.finish) ...
        String first = accepted(s, "first, finished", "alice");
        String second = accepted(s, "second, finished", "alice");
        s.finish(QueueState.INCOMING, first);
        s.finish(QueueState.INCOMING, second);
        // ... the next commit linked one under its id, before removing the spare name, and wrote part of its text.
        Path spare = spoolDir().resolve("data").resolve("spare.1");
        assertThat(spare).exists();
        Path halfWay = spoolDir().resolve("data").resolve("HALFWAY00001");
        Files.createLink(halfWay, spare);
        Files.writeString(halfWay, "Received: from client.test\r\nSubject: cut");
        startAndDrain();
        assertThat(halfWay).as("never acknowledged: removed, old octets and all").doesNotExist();
        assertThat(subjects("alice")).as("the finished ones are not delivered again from their spares").isEmpty();
        assertThat(subjects("bob")).containsExactly("waiting");
        assertThat(mx.mx().spool().state(waiting)).isEmpty();
        // waiting's file keeps its delivered text for the next message a moment, then the queue manager's sweep empties it
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15)).untilAsserted(() -> {
            try (var left = Files.list(spoolDir().resolve("data"))) {
                assertThat(left.toList()).as("spare.0 kept, spare.1 kept or removed, waiting's file made one: only empty spares")
                        .hasSizeBetween(2, 3).allSatisfy(f -> {
                            assertThat(Spool.isSpare(f)).isTrue();
                            assertThat(Files.size(f)).isZero();
                        });
            }
        });
        assertThat(SpoolFiles.strays(spoolDir())).isEmpty();
    }

    // ---- Maildir delivery: tmp/ → new/ ----

    @Test
    void maildirWriteCutShortInTmpIsNeverSeenAndTheMessageIsDeliveredWhole() throws Exception {
        Spool s = spool();
        String id = accepted(s, "maildir tmp", "bob");
        s.activate(id, QueueState.INCOMING);
        Path tmp = maildir("bob").resolve("tmp");
        Files.createDirectories(tmp);
        Files.createDirectories(maildir("bob").resolve("new"));
        Files.createDirectories(maildir("bob").resolve("cur"));
        Path partial = tmp.resolve("1764000000.M1P99Q1." + HOST);
        Files.writeString(partial, "Return-Path: <sender@client.test>\r\nDelivered-To: bob@example.test\r\nReceived: from cl");
        startAndDrain();
        assertThat(copies("bob")).isEqualTo(1); // whole: copies() checks every file in new/ and cur/
        assertThat(subjects("bob")).containsExactly("maildir tmp");
    }

    @Test
    void maildirRenamedIntoNewBeforeTheRecordIsDeliveredAtLeastOnce() throws Exception {
        Spool s = spool();
        String id = accepted(s, "renamed, not recorded", "alice", "bob");
        deliverByHand("bob", id); // in new/, then the crash before the envelope said so
        s.activate(id, QueueState.INCOMING);
        startAndDrain();
        assertThat(copies("alice")).isEqualTo(1);
        assertThat(copies("bob")).as("at least once, a duplicate allowed").isBetween(1, 2);
    }

    @Test
    void aliasDeferredAfterSomeOfItsMailboxesGotTheirCopyFillsOnlyTheOthers() throws Exception {
        Spool s = spool();
        String id = accepted(s, "alias half done", "team", "bob");
        // What an attempt with bob's Maildir failing records: team deferred with bob left, bob@ deferred.
        deliverByHand("alice", id);
        Envelope e = s.envelope(QueueState.INCOMING, id);
        List<RecipientStatus> rs = new ArrayList<>();
        for (RecipientStatus r : e.recipients()) {
            Recipient rest = new Recipient(r.recipient().address(), r.recipient().dsn(), new Route.Local("example.test", List.of("bob")));
            rs.add(new RecipientStatus(rest, DeliveryState.DEFERRED, "maildir delivery failed: bob: Not a directory", Instant.now()));
        }
        s.update(QueueState.INCOMING, e.withRecipients(rs));
        s.defer(id, QueueState.INCOMING, Instant.now());
        startAndDrain();
        assertOneCopyEach();
    }

    // ---- the quarantine (docs/filters.md) ----

    @Test
    void quarantineStoreCutShortIsNoEntryAndItsOldFilesGo() throws Exception {
        Quarantine q = new Quarantine(data());
        Path tmp = q.directory().resolve("tmp");
        // The text being written to tmp/ ...
        Files.createDirectories(tmp);
        Path half = tmp.resolve("20261126T050000000Z-00000001.eml");
        Files.writeString(half, "Subject: cut sh");
        // ... and a text renamed into place whose JSON never left tmp/ (no 250 either way).
        QuarantineEntry e = store(q, "store cut short");
        Files.move(q.directory().resolve(e.id() + ".json"), tmp.resolve(e.id() + ".json"));
        // A file of a store in progress right now (younger than a day) must stay.
        Path fresh = tmp.resolve("20261126T050000000Z-00000002.eml");
        Files.writeString(fresh, "being written");
        for (Path p : List.of(half, tmp.resolve(e.id() + ".json"), q.directory().resolve(e.id() + ".eml"))) {
            Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
        }
        startMxd();
        assertThat(q.list(0, 10).total()).isZero();
        assertThat(half).doesNotExist();
        assertThat(tmp.resolve(e.id() + ".json")).doesNotExist();
        assertThat(q.directory().resolve(e.id() + ".eml")).doesNotExist();
        assertThat(fresh).exists();
        awaitQueueEmpty();
        assertThat(copies("alice")).isZero();
    }

    @Test
    void quarantineStoreThatFailsLeavesNoHalfEntry() throws Exception {
        Quarantine q = new Quarantine(data());
        MessageSource failing = new MessageSource() {
            @Override
            public long size() {
                return 1000;
            }

            @Override
            public java.io.InputStream open() {
                return new java.io.SequenceInputStream(new java.io.ByteArrayInputStream("Subject: half\r\n".getBytes(StandardCharsets.US_ASCII)),
                        new java.io.InputStream() {
                            @Override
                            public int read() throws IOException {
                                throw new IOException("the spool file went away");
                            }
                        });
            }
        };
        org.assertj.core.api.Assertions.assertThatIOException().isThrownBy(() -> q.store(failing,
                ScanEnvelope.of("Q1", "sender@client.test", List.of("alice@example.test")), "virus", List.of(), Instant.now()));
        assertThat(files(q.directory().resolve("tmp"))).isEmpty();
        assertThat(files(q.directory())).isEmpty();
    }

    @Test
    void quarantineDeleteCutShortLeavesNoEntry() throws Exception {
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "deleted");
        Files.delete(q.directory().resolve(e.id() + ".json")); // delete: the JSON first, then the crash
        startMxd();
        assertThat(q.list(0, 10).total()).isZero();
        assertThat(q.find(e.id())).isEmpty();
        awaitQueueEmpty();
        assertThat(copies("alice")).isZero();
    }

    /**
     * A release stopped after moving one of its two files: the text (the order of release), or the
     * JSON (the order of mxd before issue 13, whose start-up then failed with "cannot start:
     * …/released/….eml", exit 75).
     */
    @ParameterizedTest(name = "only ID.{0} in released/")
    @ValueSource(strings = {"eml", "json"})
    void releaseCutShortAfterOneFileMovedIsFinishedAtStart(String moved) throws Exception {
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "only the " + moved + " moved");
        moveToReleased(q, e.id() + "." + moved);
        startMxd();
        awaitReleased(q);
        assertThat(subjects("alice")).containsExactly("only the " + moved + " moved");
        assertThat(q.list(0, 10).total()).isZero();
    }

    @Test
    void mxdServeStartsOnTheStateThatStoppedItBefore() throws Exception {
        // Issue 13, case 4 as reported: `mxd serve` exited 75 ("cannot start: …/released/….eml") on this state.
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "served");
        moveToReleased(q, e.id() + ".json");
        Path config = Files.writeString(dir.resolve("serve.yaml"), TestMx.yaml(data(), FreePort.tcpAndUdp("127.0.0.1"),
                "timeouts:\n  greet-pause: 0s\n" + CONFIG));
        try (MxdProcess serve = MxdProcess.serve(config, dir.resolve("serve.log"))) {
            await().atMost(Duration.ofSeconds(30)).until(() -> copies("alice") == 1);
            assertThat(subjects("alice")).containsExactly("served");
            assertThat(files(q.directory().resolve("released"))).isEmpty();
        }
    }

    @Test
    void releaseCutShortBeforeTheSpoolHadItIsInjectedAtStart() throws Exception {
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "both moved");
        assertThat(q.release(e.id())).isPresent();
        startMxd();
        awaitReleased(q);
        assertThat(subjects("alice")).containsExactly("both moved");
    }

    @Test
    void releaseCutShortAfterTheSpoolHadItIsDeliveredAtLeastOnce() throws Exception {
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "injected, not forgotten");
        Quarantine.Released r = q.release(e.id()).orElseThrow();
        String id = accepted(spool(), "injected, not forgotten", "alice"); // the spool accepted the copy; then the crash
        assertThat(r.messageFile()).exists();
        startMxd();
        awaitReleased(q);
        assertThat(mx.mx().spool().state(id)).isEmpty();
        assertThat(copies("alice")).as("at least once, a duplicate allowed").isBetween(1, 2);
    }

    @Test
    void forgetCutShortLeavesNothingToInject() throws Exception {
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "forgotten");
        q.release(e.id()).orElseThrow();
        // Injected (and delivered) earlier; forget removed the JSON, then the crash.
        Files.delete(q.directory().resolve("released").resolve(e.id() + ".json"));
        startMxd();
        assertThat(q.directory().resolve("released").resolve(e.id() + ".eml")).doesNotExist();
        awaitQueueEmpty();
        assertThat(copies("alice")).isZero();
    }

    @Test
    void releasedEntryWithoutItsTextDoesNotStopStartUpAndIsKeptForTheOperator() throws Exception {
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "no text");
        QuarantineEntry fine = store(q, "released beside it");
        q.release(e.id()).orElseThrow();
        q.release(fine.id()).orElseThrow();
        Files.delete(q.directory().resolve("released").resolve(e.id() + ".eml")); // not a state mxd makes: removed by hand
        startMxd();
        await().atMost(Duration.ofSeconds(20)).until(() -> copies("alice") == 1);
        awaitQueueEmpty();
        assertThat(subjects("alice")).containsExactly("released beside it");
        Quarantine.Pending pending = q.pending();
        assertThat(pending.releases()).isEmpty();
        assertThat(pending.problems()).singleElement().asString().contains(e.id() + ".json has no message text");
    }

    @Test
    void anEntryWhoseTextMovedIsFinishedByPendingNotByAnotherRelease() throws Exception {
        Quarantine q = new Quarantine(data());
        QuarantineEntry e = store(q, "text moved, released again");
        moveToReleased(q, e.id() + ".eml");
        // a text in released/ may be a release running now: another release must not take it too
        assertThat(q.release(e.id())).isEmpty();
        try (Quarantine.Lock held = q.lock()) { // as at start, or in a release: no release is running now
            Quarantine.Released r = q.pendingReleases().get(0);
            assertThat(Files.readString(r.messageFile())).contains("Subject: text moved, released again\r\n");
            assertThat(q.pendingReleases()).containsExactly(r);
        }
        assertThat(q.find(e.id())).isEmpty();
    }

    // ---- helpers ----

    private Path data() {
        return dir.resolve("data");
    }

    private Path spoolDir() {
        return data().resolve("spool");
    }

    private Path maildir(String mailbox) {
        return data().resolve("mail").resolve("example.test").resolve(mailbox).resolve("Maildir");
    }

    private Path envelope(QueueState state, String id) {
        return spoolDir().resolve(state.directory()).resolve(id + ".json");
    }

    /**
     * The spool's accept journal as a crash leaves it when its last records were never synced
     * (or after a checkpoint took the messages out of it): empty.
     */
    private void journalNeverSynced() throws IOException {
        try (Stream<Path> s = Files.list(spoolDir().resolve("journal"))) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
    }

    /** The spool as the crashed mxd left it (opening it while no mxd runs changes nothing that matters here). */
    private Spool spool() throws IOException {
        return Spool.open(spoolDir(), HOST, Clock.systemUTC());
    }

    private void startMxd() throws Exception {
        mx = TestMx.startIn(dir, CONFIG); // throws if start-up fails
    }

    /** Starts mxd on the directory and waits until it has delivered what it can. */
    private void startAndDrain() throws Exception {
        startMxd();
        awaitQueueEmpty();
    }

    private static String text(String subject) {
        return "Subject: " + subject + "\r\n\r\nbody\r\n" + END + "\r\n";
    }

    /** A message accepted as SMTP accepts one ({@code team} is the alias of alice and bob); returns its queue id. */
    private static String accepted(Spool s, String subject, String... localParts) {
        List<Recipient> rs = new ArrayList<>();
        for (String p : localParts) {
            List<String> boxes = p.equals("team") ? List.of("alice", "bob") : List.of(p);
            rs.add(new Recipient(Mailbox.parse(p + "@example.test"), RcptParameters.NONE, new Route.Local("example.test", boxes)));
        }
        StoreOutcome o = s.store(new ReceivedMessage(Optional.of(Mailbox.parse("sender@client.test")), MailParameters.NONE, rs,
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false), Instant.now(),
                text(subject).getBytes(StandardCharsets.US_ASCII)));
        return ((StoreOutcome.Stored) o).queueId();
    }

    /** A copy of a spooled message in a mailbox, as mxd writes it, before the crash. */
    private void deliverByHand(String mailbox, String id) throws IOException {
        for (String sub : List.of("tmp", "new", "cur")) {
            Files.createDirectories(maildir(mailbox).resolve(sub));
        }
        Spool s = Spool.attach(spoolDir(), HOST, Clock.systemUTC());
        String body = SpoolFiles.text(s, id);
        Files.writeString(maildir(mailbox).resolve("new").resolve(System.nanoTime() + ".M1P1Q1." + HOST),
                MaildirText.lf("Return-Path: <sender@client.test>\r\nDelivered-To: " + mailbox + "@example.test\r\n" + body));
    }

    /** A message to alice and bob whose copy for alice is written and recorded in its envelope. */
    private String aliceDeliveredAndRecorded(Spool s, String subject) throws IOException {
        String id = accepted(s, subject, "alice", "bob");
        deliverByHand("alice", id);
        s.update(QueueState.INCOMING, withState(s.envelope(QueueState.INCOMING, id), "alice", DeliveryState.DELIVERED));
        return id;
    }

    private static Envelope withState(Envelope e, String localPart, DeliveryState state) {
        List<RecipientStatus> rs = new ArrayList<>();
        for (RecipientStatus r : e.recipients()) {
            rs.add(r.recipient().address().toString().equals(localPart + "@example.test") ? r.with(state, "by hand", Instant.now()) : r);
        }
        return e.withRecipients(rs);
    }

    private static QuarantineEntry store(Quarantine q, String subject) throws IOException {
        return q.store(MessageSource.of(text(subject).getBytes(StandardCharsets.US_ASCII)),
                ScanEnvelope.of("Q" + System.nanoTime(), "sender@client.test", List.of("alice@example.test")), "virus Test (clamd)",
                List.of(), Instant.now());
    }

    private static void moveToReleased(Quarantine q, String file) throws IOException {
        Files.createDirectories(q.directory().resolve("released"));
        Files.move(q.directory().resolve(file), q.directory().resolve("released").resolve(file));
    }

    /** Waits until released/ is empty and the copies it led to are delivered. */
    private void awaitReleased(Quarantine q) throws Exception {
        Path released = q.directory().resolve("released");
        await().atMost(Duration.ofSeconds(20)).until(() -> files(released).isEmpty());
        awaitQueueEmpty();
    }

    /** Waits until no message is left to deliver (held ones aside). */
    private void awaitQueueEmpty() {
        Spool s = mx.mx().spool();
        await().atMost(Duration.ofSeconds(30)).until(() -> mx.mx().queue().idle() && s.ids(QueueState.INCOMING).isEmpty()
                && s.ids(QueueState.ACTIVE).isEmpty() && s.ids(QueueState.DEFERRED).isEmpty());
    }

    private void assertOneCopyEach() throws IOException {
        assertThat(copies("alice")).as("alice's copies").isEqualTo(1);
        assertThat(copies("bob")).as("bob's copies").isEqualTo(1);
    }

    /** How many copies a mailbox holds; each must be whole (nothing half-written delivered). */
    private int copies(String mailbox) throws IOException {
        List<Path> all = new ArrayList<>(files(maildir(mailbox).resolve("new")));
        all.addAll(files(maildir(mailbox).resolve("cur")));
        for (Path p : all) {
            String m = Files.readString(p, StandardCharsets.UTF_8);
            assertThat(m).as(p.toString()).startsWith("Return-Path: <sender@client.test>\n").endsWith("\n" + END + "\n");
        }
        return all.size();
    }

    /** The subjects of the copies in a mailbox. */
    private List<String> subjects(String mailbox) throws IOException {
        copies(mailbox);
        List<String> out = new ArrayList<>();
        for (Path p : files(maildir(mailbox).resolve("new"))) {
            Arrays.stream(Files.readString(p, StandardCharsets.UTF_8).split("\n")).filter(l -> l.startsWith("Subject: "))
                    .findFirst().ifPresent(l -> out.add(l.substring("Subject: ".length())));
        }
        return out;
    }

    private static List<Path> files(Path d) throws IOException {
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }
}
