package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.testing.SpoolFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The accept journal (docs/spool.md, "The accept journal"): what a crash may leave of a
 * message's files that were never fsynced, and what start-up makes of it. A power failure is
 * played by changing the files as the disk may have kept them, then opening the spool again.
 */
class AcceptJournalTest {

    @TempDir
    Path dir;

    private static String id(StoreOutcome o) {
        return ((StoreOutcome.Stored) o).queueId();
    }

    private Spool open() throws Exception {
        return Spool.open(dir, "mx.test", Clock.systemUTC());
    }

    /** A power failure took both names of a message that was never fsynced: its link in incoming/ and its text. */
    private void namesLost(Spool s, String id) throws Exception {
        Files.deleteIfExists(dir.resolve("incoming/" + id + ".json"));
        Files.deleteIfExists(s.text(id));
    }

    private List<Path> segments() throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve(AcceptJournal.DIRECTORY))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    @Test
    void anAcceptedMessageWhoseFilesDidNotReachTheDiskIsWrittenAgainFromTheJournal() throws Exception {
        Spool s = open();
        String lost = id(s.store(SpoolTest.message("Subject: lost\r\n\r\nits files never reached the disk\r\n")));
        String damaged = id(s.store(SpoolTest.message("Subject: damaged\r\n\r\nits text's blocks never reached the disk\r\n")));
        String whole = SpoolFiles.text(s, lost);
        String damagedText = SpoolFiles.text(s, damaged);
        byte[] damagedFile = Files.readAllBytes(s.text(damaged));
        // Power failure: neither name of lost reached the disk; damaged's inode kept its size but not its data.
        namesLost(s, lost);
        Files.write(s.text(damaged), new byte[damagedFile.length]);

        Spool again = open();
        assertThat(again.ids(QueueState.INCOMING)).containsExactlyInAnyOrder(lost, damaged);
        assertThat(SpoolFiles.text(again, lost)).isEqualTo(whole);
        assertThat(SpoolFiles.text(again, damaged)).isEqualTo(damagedText);
        assertThat(again.envelope(QueueState.INCOMING, damaged).recipients()).hasSize(1);
        assertThat(Files.isSameFile(dir.resolve("incoming/" + lost + ".json"), again.text(lost))).isTrue();
        assertThat(SpoolFiles.strays(dir)).isEmpty();
        assertThat(segments()).as("replayed segments deleted; a new one open").hasSize(1);
    }

    @Test
    void aFinishedMessageDoesNotComeBackAfterAKillNorWhenItsNamesWereNotRemovedOnDisk() throws Exception {
        Spool s = open();
        String delivered = id(s.store(SpoolTest.message("Subject: delivered\r\n\r\nx\r\n")));
        String kept = id(s.store(SpoolTest.message("Subject: kept\r\n\r\ny\r\n")));
        Path savedText = dir.resolve("saved-text");
        Files.copy(s.text(delivered), savedText);
        s.finish(QueueState.INCOMING, delivered);
        // A killed process: the page cache kept everything; start-up must not write it again from its record.
        Spool afterKill = open();
        assertThat(afterKill.ids(QueueState.INCOMING)).containsExactly(kept);
        assertThat(afterKill.text(delivered)).doesNotExist();

        String second = id(afterKill.store(SpoolTest.message("Subject: second\r\n\r\nz\r\n")));
        Files.copy(afterKill.text(second), savedText, StandardCopyOption.REPLACE_EXISTING);
        afterKill.finish(QueueState.INCOMING, second);
        // A power failure: the finish's unlinks did not reach the disk, so both names are back.
        Files.copy(savedText, afterKill.text(second));
        Files.createLink(dir.resolve("incoming/" + second + ".json"), afterKill.text(second));
        Spool afterPowerFailure = open();
        assertThat(afterPowerFailure.ids(QueueState.INCOMING)).containsExactly(kept);
        assertThat(afterPowerFailure.text(second)).doesNotExist();
        assertThat(SpoolFiles.strays(dir)).isEmpty();
    }

    @Test
    void anEnvelopeRewrittenSinceAcceptanceKeepsItsRecipientsStatesWhenTheTextIsWrittenAgain() throws Exception {
        Spool s = open();
        String id = id(s.store(SpoolTest.message("Subject: deferred\r\n\r\nx\r\n")));
        String text = SpoolFiles.text(s, id);
        Envelope e = s.envelope(QueueState.INCOMING, id);
        Instant next = Instant.now().plusSeconds(600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        Envelope tried = e.withRecipients(List.of(e.recipients().get(0).with(DeliveryState.PENDING, "451 try later", Instant.now())));
        s.update(QueueState.INCOMING, tried);
        s.defer(id, QueueState.INCOMING, next);
        Files.write(s.text(id), new byte[(int) Files.size(s.text(id))]); // the text's blocks were lost

        Spool again = open();
        assertThat(again.state(id)).contains(QueueState.DEFERRED);
        assertThat(again.envelope(QueueState.DEFERRED, id).recipients().get(0).detail()).isEqualTo("451 try later");
        assertThat(again.nextAttempt(id)).isEqualTo(next);
        assertThat(SpoolFiles.text(again, id)).isEqualTo(text);
        assertThat(again.ids(QueueState.INCOMING)).isEmpty();
        assertThat(SpoolFiles.strays(dir)).isEmpty();
    }

    @Test
    void anEnvelopeMovedAsItWasAcceptedStaysInItsStateWithItsTime() throws Exception {
        Spool s = open();
        String held = id(s.store(SpoolTest.message("Subject: held\r\n\r\nx\r\n")));
        String deferred = id(s.store(SpoolTest.message("Subject: deferred\r\n\r\ny\r\n")));
        s.move(held, QueueState.INCOMING, QueueState.HOLD);
        Instant next = Instant.now().plusSeconds(900).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        s.defer(deferred, QueueState.INCOMING, next);
        String heldText = SpoolFiles.text(s, held);
        Files.write(s.text(held), new byte[(int) Files.size(s.text(held))]); // the blocks of the text (and its envelope) lost

        Spool again = open();
        assertThat(again.state(held)).contains(QueueState.HOLD);
        assertThat(again.state(deferred)).contains(QueueState.DEFERRED);
        assertThat(again.nextAttempt(deferred)).isEqualTo(next);
        assertThat(SpoolFiles.text(again, held)).isEqualTo(heldText);
        assertThat(again.envelope(QueueState.HOLD, held).id()).isEqualTo(held);
        assertThat(Files.isSameFile(dir.resolve("hold/" + held + ".json"), again.text(held))).isTrue();
        assertThat(again.ids(QueueState.INCOMING)).isEmpty();
        assertThat(SpoolFiles.strays(dir)).isEmpty();
    }

    @Test
    void aRecordTheCrashCutShortWasNeverAnsweredAndIsPassedOver() throws Exception {
        Spool s = open();
        String first = id(s.store(SpoolTest.message("Subject: first\r\n\r\nx\r\n")));
        String cut = id(s.store(SpoolTest.message("Subject: cut\r\n\r\ny\r\n")));
        Path segment = segments().get(0);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 3); // the last record's end never written
        }
        // Neither of the cut one's files reached the disk either; the first one's did not.
        namesLost(s, first);
        namesLost(s, cut);
        Spool again = open();
        assertThat(again.ids(QueueState.INCOMING)).containsExactly(first);
        assertThat(again.state(cut)).isEmpty();
        assertThat(SpoolFiles.strays(dir)).isEmpty();
    }

    @Test
    void aCheckpointMakesTheFilesDurableAndDeletesTheSegmentsThenStartUpHasNothingToReplay() throws Exception {
        Spool s = open();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(id(s.store(SpoolTest.message("Subject: " + i + "\r\n\r\nx\r\n"))));
        }
        s.finish(QueueState.INCOMING, ids.get(0));
        assertThat(s.journalHolds()).isEqualTo(4);
        s.tidyAll();
        assertThat(s.journalHolds()).isZero();
        assertThat(segments()).as("only the new, empty segment").hasSize(1);
        assertThat(Files.size(segments().get(0))).isZero();
        // Without the journal the files themselves are the messages now.
        Spool again = open();
        assertThat(again.ids(QueueState.INCOMING)).containsExactlyInAnyOrderElementsOf(ids.subList(1, 5));
        for (String id : ids.subList(1, 5)) {
            assertThat(Files.isSameFile(dir.resolve("incoming/" + id + ".json"), again.text(id))).isTrue();
        }
    }

    @Test
    void aFinishedTextsSpareIsTakenAfterTheNextTidy() throws Exception {
        Spool s = open();
        String first = id(s.store(SpoolTest.message("Subject: first\r\n\r\n" + "old\r\n".repeat(100))));
        Object inode = Files.getAttribute(s.text(first), "unix:ino");
        s.finish(QueueState.INCOMING, first);
        String second = id(s.store(SpoolTest.message("Subject: second\r\n\r\nx\r\n")));
        assertThat(Files.getAttribute(s.text(second), "unix:ino")).as("its rename is not known to be on disk yet").isNotEqualTo(inode);
        s.tidy(); // fsyncs data/
        String third = id(s.store(SpoolTest.message("Subject: third\r\n\r\ny\r\n")));
        assertThat(Files.getAttribute(s.text(third), "unix:ino")).isEqualTo(inode);
        assertThat(SpoolFiles.text(s, third)).endsWith("Subject: third\r\n\r\ny\r\n").doesNotContain("old");
        // Killed now: the spare's old text is not brought back, the third is whole.
        Spool again = open();
        assertThat(again.ids(QueueState.INCOMING)).containsExactlyInAnyOrder(second, third);
        assertThat(SpoolFiles.text(again, third)).endsWith("Subject: third\r\n\r\ny\r\n");
    }

    @Test
    void underConcurrentCommitsFinishesAndCheckpointsEveryAcceptedMessageIsInTheJournalOrDurableInItsFiles() throws Exception {
        Spool s = open();
        Set<String> stored = ConcurrentHashMap.newKeySet();
        Set<String> finished = ConcurrentHashMap.newKeySet();
        AtomicBoolean stop = new AtomicBoolean();
        Thread tidier = new Thread(() -> {
            while (!stop.get()) {
                s.tidyAll(); // leaves the segment and checkpoints, racing the commits' group fsyncs
            }
        });
        tidier.start();
        List<Thread> senders = new ArrayList<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < 8; t++) {
            int n = t;
            Thread th = new Thread(() -> {
                for (int i = 0; i < 150; i++) {
                    String id = id(s.store(SpoolTest.message("Subject: " + n + "-" + i + "\r\n\r\nbody " + n + "-" + i + "\r\n")));
                    stored.add(id);
                    if (i % 3 == 0) {
                        try {
                            s.finish(QueueState.INCOMING, id);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        finished.add(id);
                    }
                }
            });
            th.setUncaughtExceptionHandler((x, e) -> failures.add(e));
            th.start();
            senders.add(th);
        }
        for (Thread th : senders) {
            th.join(60_000);
            assertThat(th.isAlive()).isFalse();
        }
        stop.set(true);
        tidier.join(60_000);
        assertThat(failures).isEmpty();
        assertThat(s.journalForTest().usable()).as("no failure broke the journal on the way").isTrue();
        // A power failure now: a message the journal still holds may have lost its files; one it no longer holds
        // was checkpointed, its files fsynced.
        AcceptJournal.Replay held = AcceptJournal.read(dir.resolve(AcceptJournal.DIRECTORY));
        for (String id : held.live().keySet()) {
            assertThat(stored).contains(id);
            assertThat(finished).doesNotContain(id);
            namesLost(s, id);
        }
        Spool again = open();
        Set<String> left = new java.util.HashSet<>(stored);
        left.removeAll(finished);
        assertThat(stored).hasSize(1200);
        assertThat(again.ids(QueueState.INCOMING)).containsExactlyInAnyOrderElementsOf(left);
        for (String id : left) {
            assertThat(SpoolFiles.text(again, id)).contains("body ");
        }
        assertThat(SpoolFiles.strays(dir)).isEmpty();
    }

    /**
     * A group commit's fsync and leave()'s fsync of the same segment ran at once. Linux tells a writeback error to
     * one open file description once: the second fsync returned 0 after the first got EIO, and its whole group was
     * answered 250. Every segment fsync now goes alone, and none counts after one failed.
     */
    @Test
    void segmentFsyncsNeverOverlap() throws Exception {
        Spool s = open();
        java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch inSync = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch secondStarted = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        AcceptJournal.syncHookForTest = () -> {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                if (calls.incrementAndGet() == 1) {
                    inSync.countDown();
                    // a slow disk: the first fsync lasts until a second one has started, or 2 s (when none may start)
                    secondStarted.await(2, java.util.concurrent.TimeUnit.SECONDS);
                } else {
                    secondStarted.countDown();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inFlight.decrementAndGet();
            }
        };
        try {
            java.util.concurrent.CompletableFuture<String> commit = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> id(s.store(SpoolTest.message("Subject: slow disk\r\n\r\nx\r\n"))));
            assertThat(inSync.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            s.journalForTest().tidy(true); // leaves the segment the commit's fsync is syncing: fsyncs it too
            assertThat(commit.get(10, java.util.concurrent.TimeUnit.SECONDS)).isNotBlank();
            assertThat(most.get()).as("segment fsyncs running at once").isEqualTo(1);
        } finally {
            AcceptJournal.syncHookForTest = () -> { };
        }
    }

    /**
     * A commit whose journal fsync failed is answered 452, and its client sends the message again; its accepted record
     * may be in the segment all the same. Killed before tidy deleted the segment, start-up replayed it and delivered
     * the message a second time: the journal, broken, wrote no "done" record for it.
     */
    @Test
    void aCommitRefusedForAFailedJournalFsyncDoesNotComeBackAfterAKill() throws Exception {
        Spool s = open();
        String kept = id(s.store(SpoolTest.message("Subject: kept\r\n\r\ny\r\n")));
        AcceptJournal.syncHookForTest = () -> {
            throw new IllegalStateException("test: EIO at fsync");
        };
        try {
            assertThat(s.store(SpoolTest.message("Subject: refused\r\n\r\nx\r\n"))).isInstanceOfSatisfying(StoreOutcome.Failed.class,
                    f -> assertThat(f.reply().code()).isEqualTo(452));
        } finally {
            AcceptJournal.syncHookForTest = () -> { };
        }
        assertThat(s.ids(QueueState.INCOMING)).containsExactly(kept);
        Spool afterKill = open(); // no tidy ran: the segment with the refused message's record is still there
        assertThat(afterKill.ids(QueueState.INCOMING)).containsExactly(kept);
        assertThat(SpoolFiles.strays(dir)).isEmpty();
    }

    @Test
    void afterTheJournalFailsCommitsGoThroughTheFilesAndTidyCheckpointsWhatItHeld() throws Exception {
        Spool s = open();
        String before = id(s.store(SpoolTest.message("Subject: before\r\n\r\nx\r\n")));
        String finishedLater = id(s.store(SpoolTest.message("Subject: finished\r\n\r\ny\r\n")));
        assertThat(s.journalHolds()).isEqualTo(2);
        s.journalForTest().failForTest(new java.io.IOException("test: the disk said no"));
        String after = id(s.store(SpoolTest.message("Subject: after\r\n\r\nz\r\n")));
        assertThat(s.journalHolds()).as("not journaled").isEqualTo(2);
        s.finish(QueueState.INCOMING, finishedLater); // no done record can be written now
        s.tidy();
        assertThat(s.journalHolds()).isZero();
        assertThat(segments()).as("every segment checkpointed and deleted").isEmpty();
        Spool again = open();
        assertThat(again.ids(QueueState.INCOMING)).containsExactlyInAnyOrder(before, after);
        assertThat(again.journalHolds()).isZero();
        String next = id(again.store(SpoolTest.message("Subject: next\r\n\r\nw\r\n")));
        assertThat(again.journalHolds()).as("a new start uses a new journal").isEqualTo(1);
        assertThat(again.ids(QueueState.INCOMING)).contains(next);
    }

    @Test
    void anInterruptedThreadsFinishDoesNotCloseTheJournalForEveryoneElse() throws Exception {
        // The queue manager interrupts its workers when it stops; a FileChannel write by an interrupted thread
        // would close the channel, and with it the journal of every commit.
        Spool s = open();
        String first = id(s.store(SpoolTest.message("Subject: first\r\n\r\nx\r\n")));
        Thread.currentThread().interrupt();
        try {
            s.finish(QueueState.INCOMING, first);
        } finally {
            assertThat(Thread.interrupted()).as("still interrupted, as the worker expects").isTrue();
        }
        String next = id(s.store(SpoolTest.message("Subject: next\r\n\r\ny\r\n")));
        assertThat(s.journalHolds()).as("journaled: the journal still works").isEqualTo(1);
        AcceptJournal.Replay r = AcceptJournal.read(dir.resolve(AcceptJournal.DIRECTORY));
        assertThat(r.done()).containsExactly(first);
        assertThat(r.live()).containsOnlyKeys(next);
    }

    @Test
    void theOperatorsDeleteDoesNotComeBackFromTheJournal() throws Exception {
        Spool s = open();
        String deleted = id(s.store(SpoolTest.message("Subject: spam\r\n\r\nx\r\n")));
        byte[] text = Files.readAllBytes(s.text(deleted));
        s.remove(QueueState.INCOMING, deleted);
        assertThat(AcceptJournal.read(dir.resolve(AcceptJournal.DIRECTORY)).done()).containsExactly(deleted);
        Files.write(s.text(deleted), text); // the removal's unlink did not reach the disk
        Spool again = open();
        assertThat(again.state(deleted)).isEmpty();
        assertThat(again.text(deleted)).doesNotExist();
    }

    /**
     * Checkpoints falling behind (a slow disk, a held backlog): once the segments left and not yet deleted
     * hold the backlog limit, the journal takes no more records, so mail goes through the files alone
     * and the journal, and what start-up reads of it, stay bounded; it takes records again once the
     * checkpoint has caught up.
     */
    @Test
    void aBacklogOfLeftSegmentsStopsTheJournalUntilTheCheckpointCatchesUp() throws Exception {
        Path journalDir = dir.resolve(AcceptJournal.DIRECTORY);
        AcceptJournal j = AcceptJournal.open(journalDir, ids -> {});
        j.limitBacklog(4096);
        byte[] content = ("Received: x\r\n\r\n" + "still queued\r\n".repeat(400)).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        j.await(j.accept("HELD", java.nio.ByteBuffer.wrap(content), new byte[0])); // live: its destination is down
        assertThat(j.usable()).isTrue();
        Thread.sleep(1100);
        j.tidy(false); // the segment is a second old: left, its message still live, its checkpoint 2 s away
        assertThat(j.usable()).as("a left segment of over 4 KB waits for its checkpoint").isFalse();
        Thread.sleep(2100);
        j.tidy(false); // checkpointed and deleted
        assertThat(j.usable()).isTrue();
    }

    /**
     * A checkpoint that could not open a file (no descriptor left) is tried again at the next tidy, the journal in use
     * meanwhile; it turned the journal off for the rest of the run, its segments kept and its done records never synced
     * again. A failed fsync still does (the pages it had to write may be lost).
     */
    @Test
    void aCheckpointThatCouldNotOpenAFileIsTriedAgainAndOnlyAFailedFsyncStopsTheJournal() throws Exception {
        Path journalDir = dir.resolve(AcceptJournal.DIRECTORY);
        java.util.concurrent.atomic.AtomicReference<IOException> next = new java.util.concurrent.atomic.AtomicReference<>(
                new java.nio.file.FileSystemException("data/HELD", null, "Too many open files"));
        AcceptJournal j = AcceptJournal.open(journalDir, ids -> {
            IOException e = next.getAndSet(null);
            if (e != null) {
                throw e;
            }
        });
        byte[] content = "Received: x\r\n\r\nstill queued\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        j.await(j.accept("HELD", java.nio.ByteBuffer.wrap(content), new byte[0]));
        assertThatThrownBy(() -> j.tidy(true)).hasMessageContaining("Too many open files");
        assertThat(j.usable()).as("still in use").isTrue();
        j.tidy(true); // tried again, and done: the segment goes
        assertThat(AcceptJournal.read(journalDir).live()).isEmpty();

        j.await(j.accept("HELD2", java.nio.ByteBuffer.wrap(content), new byte[0]));
        next.set(new java.io.SyncFailedException("fsync of data/HELD2 failed: Input/output error"));
        assertThatThrownBy(() -> j.tidy(true)).isInstanceOf(java.io.SyncFailedException.class);
        assertThat(j.usable()).as("after a failed fsync").isFalse();
        assertThat(AcceptJournal.read(journalDir).live()).as("kept for start-up").containsOnlyKeys("HELD2");
    }

    /**
     * After the journal broke (a failed write), the checkpoint of everything it held could not open a file (no
     * descriptor left): the segments stay, a message finished meanwhile still gets its done record, and the next tidy
     * tries again and deletes them. It kept them for good: every finish after it wrote no done record, so a crash
     * brought those messages' records back at start-up.
     */
    @Test
    void aDrainCutShortByAFileItCouldNotOpenIsTriedAgain() throws Exception {
        Path journalDir = dir.resolve(AcceptJournal.DIRECTORY);
        java.util.concurrent.atomic.AtomicReference<IOException> next = new java.util.concurrent.atomic.AtomicReference<>(
                new java.nio.file.FileSystemException("data/HELD", null, "Too many open files"));
        java.util.List<java.util.List<String>> checkpointed = new java.util.concurrent.CopyOnWriteArrayList<>();
        AcceptJournal j = AcceptJournal.open(journalDir, ids -> {
            IOException e = next.getAndSet(null);
            if (e != null) {
                throw e;
            }
            checkpointed.add(ids);
        });
        byte[] content = "Received: x\r\n\r\nstill queued\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        j.await(j.accept("HELD", java.nio.ByteBuffer.wrap(content), new byte[0]));
        j.await(j.accept("FINISHED", java.nio.ByteBuffer.wrap(content), new byte[0]));
        j.failForTest(new IOException("test: the disk said no"));
        assertThatThrownBy(() -> j.tidy(false)).hasMessageContaining("Too many open files");
        j.done("FINISHED");
        assertThat(AcceptJournal.read(journalDir).live()).as("the finish's done record is in the segment").containsOnlyKeys("HELD");
        j.tidy(false);
        assertThat(checkpointed).containsExactly(java.util.List.of("HELD"));
        try (var left = Files.list(journalDir)) {
            assertThat(left).as("every segment deleted").isEmpty();
        }
    }

    /** The spool's checkpoint tells a failed fsync apart (fsync(2) of /dev/null fails with EINVAL) from one it never got to. */
    @Test
    void theSpoolsCheckpointCallsAFailedFsyncSo() throws Exception {
        try (FileChannel ch = FileChannel.open(Path.of("/dev/null"), StandardOpenOption.READ)) {
            assertThatThrownBy(() -> Spool.checkpointSync(ch, Path.of("/dev/null"))).isInstanceOf(java.io.SyncFailedException.class)
                    .hasMessageContaining("fsync of /dev/null failed");
        }
        FileChannel closed = FileChannel.open(Path.of("/dev/null"), StandardOpenOption.READ);
        closed.close();
        assertThatThrownBy(() -> Spool.checkpointSync(closed, Path.of("/dev/null")))
                .isInstanceOf(java.nio.channels.ClosedChannelException.class);
    }

    @Test
    void aReusedSegmentFilesOlderRecordsNeverPassForTheNewSegments() throws Exception {
        Path journalDir = dir.resolve(AcceptJournal.DIRECTORY);
        AcceptJournal j = AcceptJournal.open(journalDir, ids -> {});
        byte[] content = "Received: x\r\n\r\nthe same length every time\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < 3; i++) {
            j.await(j.accept("OLD" + i, java.nio.ByteBuffer.wrap(content), new byte[0]));
        }
        j.tidy(true); // checkpointed: the segment's file is kept for reuse, its three records still in it
        try (Stream<Path> files = Files.list(journalDir)) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("free-"));
        }
        j.await(j.accept("FILL", java.nio.ByteBuffer.wrap(content), new byte[0]));
        j.done("FILL");
        j.tidy(true); // that segment left: the next one is made from the kept file
        j.await(j.accept("NEW0", java.nio.ByteBuffer.wrap(content), new byte[0])); // exactly over OLD0's record
        Path segment = segments().get(0);
        assertThat(Files.size(segment)).as("the reused file, with OLD1 and OLD2 after the new record").isGreaterThan(2L * content.length);
        assertThat(AcceptJournal.read(journalDir).live()).containsOnlyKeys("NEW0");
    }

    @Test
    void anEnvelopeNameShowingOtherBlocksAfterAPowerFailureIsNotTakenForARewrittenOne() throws Exception {
        Spool s = open();
        String other = id(s.store(SpoolTest.message("Subject: other\r\n\r\nx\r\n")));
        String id = id(s.store(SpoolTest.message("Subject: mine\r\n\r\ny\r\n")));
        String text = SpoolFiles.text(s, id);
        byte[] othersEnvelope = EnvelopeJson.write(s.envelope(QueueState.INCOMING, other));
        // The text's name never reached the disk; the envelope's inode shows blocks that held another envelope.
        namesLost(s, id);
        Files.write(dir.resolve("incoming/" + id + ".json"), othersEnvelope);

        Spool again = open();
        assertThat(again.envelope(QueueState.INCOMING, id).id()).isEqualTo(id);
        assertThat(Files.isSameFile(dir.resolve("incoming/" + id + ".json"), again.text(id))).isTrue();
        assertThat(SpoolFiles.text(again, id)).isEqualTo(text);
    }

    @Test
    void aJournalFileThisVersionCannotReadStopsStartUpWithWhatToDo() throws Exception {
        open();
        Path foreign = dir.resolve(AcceptJournal.DIRECTORY).resolve("0000000000000000.log");
        Files.writeString(foreign, "records in a form this version does not know");
        assertThatThrownBy(this::open).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining(foreign.toString()).hasMessageContaining("move the file out");
        assertThat(foreign).exists();
    }
}
