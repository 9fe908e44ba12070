package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.MessageStore;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The accept journal's group commit without a waiting thread a message: a commit that arrives
 * while an fsync runs returns at once, and the thread of that fsync syncs again and completes it;
 * nothing completes before an fsync that began after its record was written, and a failed fsync
 * fails exactly the records it did not cover. The first fsync is held (or failed) in the syncing
 * thread through the journal's test hook; every other fsync is real.
 */
class AcceptJournalGroupCommitTest {

    private static final byte[] TEXT = "Received: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    /** What a continuation saw: the failure (null for none), its thread, and how many fsyncs had begun. */
    private record Seen(IOException failure, String thread, int syncsBegun) {}

    /** Holds the first fsync until {@link #release}; the fsyncs after it run at once. */
    private static final class HeldFirstSync implements AcceptJournal.SyncStep {
        final AtomicInteger begun = new AtomicInteger();
        final CountDownLatch holding = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile IOException failFirstWith;

        @Override
        public void run() throws IOException {
            if (begun.incrementAndGet() != 1) {
                return;
            }
            holding.countDown();
            try {
                if (!release.await(10, TimeUnit.SECONDS)) {
                    throw new IOException("test: never released");
                }
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            if (failFirstWith != null) {
                throw failFirstWith;
            }
        }
    }

    private static long append(AcceptJournal j, String id) throws IOException {
        return j.accept(id, ByteBuffer.wrap(TEXT), new byte[0]);
    }

    private static CompletableFuture<Seen> whenSynced(AcceptJournal j, long position, HeldFirstSync step) {
        CompletableFuture<Seen> seen = new CompletableFuture<>();
        j.whenSynced(position, failure -> seen.complete(new Seen(failure, Thread.currentThread().getName(), step.begun.get())));
        return seen;
    }

    /** A thread that waits for record {@code id} and so becomes the one that syncs (no fsync is under way). */
    private static Thread leader(AcceptJournal j, long position, HeldFirstSync step, CompletableFuture<CompletableFuture<Seen>> out) {
        Thread t = new Thread(() -> out.complete(whenSynced(j, position, step)), "syncing-thread");
        t.start();
        return t;
    }

    @Test
    void aCommitArrivingDuringAnFsyncReturnsAtOnceAndTheSyncingThreadCompletesItAfterAnFsyncOfItsOwn() throws Exception {
        AcceptJournal j = AcceptJournal.open(dir.resolve(AcceptJournal.DIRECTORY), ids -> {});
        HeldFirstSync step = new HeldFirstSync();
        j.beforeSyncForTest(step);
        long a = append(j, "A");
        CompletableFuture<CompletableFuture<Seen>> first = new CompletableFuture<>();
        Thread syncing = leader(j, a, step, first);
        assertThat(step.holding.await(10, TimeUnit.SECONDS)).as("the first fsync began").isTrue();

        long b = append(j, "B"); // written after the held fsync began: that fsync does not cover it
        CompletableFuture<Seen> second = whenSynced(j, b, step); // returns although an fsync is held
        assertThat(second).as("not durable yet").isNotDone();
        assertThat(first).as("the syncing thread is still in its fsync").isNotDone();

        step.release.countDown();
        syncing.join(10_000);
        assertThat(syncing.isAlive()).isFalse();
        Seen firstSeen = first.get().get(10, TimeUnit.SECONDS);
        Seen secondSeen = second.get(10, TimeUnit.SECONDS);
        assertThat(firstSeen).isEqualTo(new Seen(null, "syncing-thread", 1));
        assertThat(secondSeen).as("completed by the syncing thread, after a second fsync").isEqualTo(new Seen(null, "syncing-thread", 2));
        assertThat(step.begun.get()).isEqualTo(2);

        Seen again = whenSynced(j, b, step).get(10, TimeUnit.SECONDS);
        assertThat(again).as("on disk already: at once, on the caller's thread, no fsync")
                .isEqualTo(new Seen(null, Thread.currentThread().getName(), 2));
        j.await(append(j, "C")); // the blocking form: this thread syncs
        assertThat(step.begun.get()).isEqualTo(3);
    }

    @Test
    void aFailedFsyncFailsTheRecordsItDidNotCoverAndLaterOnesAtOnceButNotThoseSyncedBefore() throws Exception {
        AcceptJournal j = AcceptJournal.open(dir.resolve(AcceptJournal.DIRECTORY), ids -> {});
        long before = append(j, "BEFORE");
        j.await(before); // synced before the hook: durable whatever fails later
        HeldFirstSync step = new HeldFirstSync();
        step.failFirstWith = new IOException("test: the disk said no");
        j.beforeSyncForTest(step);
        long a = append(j, "A");
        CompletableFuture<CompletableFuture<Seen>> first = new CompletableFuture<>();
        Thread syncing = leader(j, a, step, first);
        assertThat(step.holding.await(10, TimeUnit.SECONDS)).isTrue();
        long b = append(j, "B");
        CompletableFuture<Seen> second = whenSynced(j, b, step);

        step.release.countDown();
        syncing.join(10_000);
        Seen firstSeen = first.get().get(10, TimeUnit.SECONDS);
        Seen secondSeen = second.get(10, TimeUnit.SECONDS);
        assertThat(firstSeen.failure()).hasMessageContaining("the disk said no");
        assertThat(secondSeen.failure()).as("a record after the failed fsync is not retried in a broken journal")
                .hasMessageContaining("the disk said no");
        assertThat(step.begun.get()).isEqualTo(1);
        assertThat(j.usable()).isFalse();

        assertThat(whenSynced(j, b, step).get(10, TimeUnit.SECONDS).failure()).as("at once").isNotNull();
        assertThat(whenSynced(j, before, step).get(10, TimeUnit.SECONDS).failure()).as("on disk before the failure").isNull();
    }

    @Test
    void aContinuationThatThrowsDoesNotKeepTheOthersOfItsFsyncWaiting() throws Exception {
        AcceptJournal j = AcceptJournal.open(dir.resolve(AcceptJournal.DIRECTORY), ids -> {});
        HeldFirstSync step = new HeldFirstSync();
        j.beforeSyncForTest(step);
        long a = append(j, "A");
        CompletableFuture<CompletableFuture<Seen>> first = new CompletableFuture<>();
        Thread syncing = leader(j, a, step, first);
        assertThat(step.holding.await(10, TimeUnit.SECONDS)).isTrue();
        AtomicInteger thrown = new AtomicInteger();
        j.whenSynced(append(j, "B"), failure -> {
            thrown.incrementAndGet();
            throw new IllegalStateException("test: a listener failed");
        });
        CompletableFuture<Seen> third = whenSynced(j, append(j, "C"), step);

        step.release.countDown();
        syncing.join(10_000);
        assertThat(syncing.isAlive()).isFalse();
        assertThat(thrown.get()).isEqualTo(1);
        assertThat(third.get(10, TimeUnit.SECONDS).failure()).isNull();
        assertThat(first.get().get(10, TimeUnit.SECONDS).failure()).isNull();
    }

    /**
     * Begins a message in {@code s} and commits it on a thread of its own (which becomes the one that
     * syncs when no fsync is under way); the outer future completes when that thread is free again.
     */
    private static CompletableFuture<CompletableFuture<StoreOutcome>> commitOnAThread(Spool s, String body) {
        ReceivedMessage m = SpoolTest.message(body);
        MessageStore.IncomingMessage d = s.begin(m.transaction());
        d.write(m.content(), 0, m.content().length);
        return CompletableFuture.supplyAsync(d::commitAsync);
    }

    @Test
    void aMessageIsAcceptedAndHandedOnOnlyOnceTheJournalsFsyncHasEnded() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        List<String> handedOn = new CopyOnWriteArrayList<>();
        s.onAccepted(handedOn::add);
        HeldFirstSync step = new HeldFirstSync();
        s.journalForTest().beforeSyncForTest(step);
        CompletableFuture<StoreOutcome> first = commitOnAThread(s, "Subject: held\r\n\r\nx\r\n").thenCompose(o -> o);
        assertThat(step.holding.await(10, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<StoreOutcome> second = commitOnAThread(s, "Subject: next\r\n\r\ny\r\n")
                .get(10, TimeUnit.SECONDS); // its thread is free while the fsync is held
        assertThat(first).isNotDone();
        assertThat(second).isNotDone();
        assertThat(handedOn).as("not accepted yet: the queue manager must not have them").isEmpty();

        step.release.countDown();
        String id = ((StoreOutcome.Stored) first.get(10, TimeUnit.SECONDS)).queueId();
        String next = ((StoreOutcome.Stored) second.get(10, TimeUnit.SECONDS)).queueId();
        assertThat(handedOn).containsExactlyInAnyOrder(id, next);
        assertThat(s.state(id)).contains(QueueState.INCOMING);
        assertThat(AcceptJournal.read(dir.resolve(AcceptJournal.DIRECTORY)).live()).containsKey(id);
    }

    @Test
    void aMessageWhoseJournalFsyncFailsIsAnswered452AndLeavesNothingBehind() throws Exception {
        Spool s = Spool.open(dir, "mx.test", Clock.systemUTC());
        List<String> handedOn = new CopyOnWriteArrayList<>();
        s.onAccepted(handedOn::add);
        HeldFirstSync step = new HeldFirstSync();
        step.failFirstWith = new IOException("test: the disk said no");
        s.journalForTest().beforeSyncForTest(step);
        CompletableFuture<StoreOutcome> first = commitOnAThread(s, "Subject: one\r\n\r\nx\r\n").thenCompose(o -> o);
        assertThat(step.holding.await(10, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<StoreOutcome> second = commitOnAThread(s, "Subject: two\r\n\r\ny\r\n")
                .get(10, TimeUnit.SECONDS); // journaled, and waiting on the held fsync

        step.release.countDown();
        for (CompletableFuture<StoreOutcome> outcome : List.of(first, second)) {
            assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(StoreOutcome.Failed.class,
                    f -> assertThat(f.reply().code()).isEqualTo(452));
        }
        assertThat(handedOn).isEmpty();
        for (QueueState state : QueueState.values()) {
            assertThat(s.ids(state)).as(state + ": nothing accepted").isEmpty();
        }
        try (Stream<Path> data = Files.list(dir.resolve("data"))) {
            assertThat(data.filter(p -> !p.getFileName().toString().startsWith("spare."))).as("no text left").isEmpty();
        }
        s.tidy(); // what the queue manager does within a quarter of a second: the broken journal's segments go
        assertThat(AcceptJournal.read(dir.resolve(AcceptJournal.DIRECTORY)).live()).isEmpty();
        Spool again = Spool.open(dir, "mx.test", Clock.systemUTC());
        for (QueueState state : QueueState.values()) {
            assertThat(again.ids(state)).as(state + ": nothing comes back at start-up").isEmpty();
        }
        assertThat(commitOnAThread(again, "Subject: three\r\n\r\nz\r\n").thenCompose(o -> o).get(10, TimeUnit.SECONDS))
                .as("the next start has a journal again").isInstanceOf(StoreOutcome.Stored.class);
    }
}
