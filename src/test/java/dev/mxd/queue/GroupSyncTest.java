package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupSyncTest {

    @TempDir
    Path dir;

    @Test
    void everyConcurrentCallerReturnsAfterASync() throws Exception {
        GroupSync sync = new GroupSync(dir);
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> calls = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                calls.add(pool.submit(() -> {
                    Files.writeString(dir.resolve("f" + n), "x");
                    sync.await();
                    return null;
                }));
            }
            for (Future<?> f : calls) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(Files.list(dir).count()).isEqualTo(200);
    }

    /**
     * The guarantee: a caller returns only after an fsync that started after its call began. Each caller makes
     * a change (a counter), then waits; the listener's mark is the count of changes when an fsync starts, so the
     * highest mark synced must cover the caller's change when it returns. Many callers on few threads, so
     * batches form, wait for each other and hand the fsync on.
     */
    @Test
    void everyCallerReturnsAfterAnFsyncThatStartedAfterItsChange() throws Exception {
        java.util.concurrent.atomic.AtomicLong changes = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong synced = new java.util.concurrent.atomic.AtomicLong(-1);
        java.util.concurrent.atomic.AtomicInteger syncs = new java.util.concurrent.atomic.AtomicInteger();
        GroupSync sync = new GroupSync(new GroupSync.Listener() {
            @Override
            public long mark() {
                return changes.get();
            }

            @Override
            public void synced(long mark) {
                syncs.incrementAndGet();
                synced.accumulateAndGet(mark, Math::max);
            }
        }, dir);
        int callers = 2_000;
        ExecutorService pool = Executors.newFixedThreadPool(24);
        try {
            List<Future<Long>> calls = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                calls.add(pool.submit(() -> {
                    long mine = changes.incrementAndGet();
                    sync.await();
                    return synced.get() - mine; // never negative: an fsync that started after the change finished
                }));
            }
            for (Future<Long> f : calls) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(0);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(syncs.get()).as("callers shared fsyncs").isLessThan(callers);
    }

    /** A waiting caller that is interrupted leaves with an error; the others still get their fsync. */
    @Test
    void anInterruptedWaiterLeavesAndTheOthersAreStillSynced() throws Exception {
        java.util.concurrent.CountDownLatch inSync = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        GroupSync sync = new GroupSync(new GroupSync.Listener() {
            @Override
            public long mark() {
                if (inSync.getCount() > 0) {
                    inSync.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS); // the first fsync is held while the next batch gathers
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return 0;
            }

            @Override
            public void synced(long mark) {
                // nothing to record
            }
        }, dir);
        java.util.Map<String, Object> outcome = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.function.Function<String, Thread> caller = name -> new Thread(() -> {
            try {
                sync.await();
                outcome.put(name, "synced");
            } catch (IOException e) {
                outcome.put(name, e);
            }
        }, name);
        Thread first = caller.apply("first");
        first.start();
        assertThat(inSync.await(10, TimeUnit.SECONDS)).isTrue();
        Thread interrupted = caller.apply("interrupted");
        Thread other = caller.apply("other");
        interrupted.start();
        other.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((interrupted.getState() != Thread.State.WAITING || other.getState() != Thread.State.WAITING)
                && System.nanoTime() < deadline) {
            Thread.sleep(5); // until both wait for the next batch
        }
        assertThat(interrupted.getState()).isEqualTo(Thread.State.WAITING);
        assertThat(other.getState()).isEqualTo(Thread.State.WAITING);
        interrupted.interrupt();
        interrupted.join(10_000);
        assertThat(outcome.get("interrupted")).isInstanceOf(IOException.class)
                .extracting(e -> ((IOException) e).getMessage()).asString().contains("interrupted");
        release.countDown();
        first.join(10_000);
        other.join(10_000);
        assertThat(outcome).containsEntry("first", "synced").containsEntry("other", "synced");
    }

    @Test
    void theListenerHearsOfASyncOnlyWhenItSucceeded() throws IOException {
        Path missing = dir.resolve("gone");
        List<Long> synced = new ArrayList<>();
        long[] marks = {7};
        GroupSync sync = new GroupSync(new GroupSync.Listener() {
            @Override
            public long mark() {
                return marks[0]++;
            }

            @Override
            public void synced(long mark) {
                synced.add(mark);
            }
        }, missing);
        assertThatThrownBy(sync::await).isInstanceOf(IOException.class);
        assertThat(synced).as("a failed fsync makes nothing durable").isEmpty();
        Files.createDirectory(missing);
        sync.await();
        assertThat(synced).as("the mark taken before the fsync that succeeded").containsExactly(8L);
    }

    @Test
    void aListenerThatFailsFailsItsBatchAndNotTheNext() throws IOException {
        boolean[] fail = {true};
        GroupSync sync = new GroupSync(new GroupSync.Listener() {
            @Override
            public long mark() {
                return 0;
            }

            @Override
            public void synced(long mark) {
                if (fail[0]) {
                    throw new IllegalStateException("listener broke");
                }
            }
        }, dir);
        assertThatThrownBy(sync::await).isInstanceOf(IOException.class).hasMessageContaining("listener broke");
        fail[0] = false;
        sync.await(); // not wedged: the next caller syncs
    }

    @Test
    void aFailedSyncIsReportedToItsCaller() throws IOException {
        Path missing = dir.resolve("gone");
        GroupSync sync = new GroupSync(missing);
        assertThatThrownBy(sync::await).isInstanceOf(IOException.class);
        Files.createDirectory(missing);
        sync.await(); // the next batch gets a fresh fsync
    }

    /** The directory is opened once and kept open (an open and a close less per fsync); a failed fsync's descriptor is not kept. */
    @Test
    void theDirectoryIsOpenedOnceForAllItsSyncs() throws IOException {
        GroupSync sync = new GroupSync(dir);
        sync.await();
        assertThat(descriptorsOf(dir)).isEqualTo(1);
        for (int i = 0; i < 20; i++) {
            Files.writeString(dir.resolve("f" + i), "x");
            sync.await();
        }
        assertThat(descriptorsOf(dir)).isEqualTo(1);
    }

    /** How many of this process's open descriptors are {@code d} (Linux: /proc/self/fd). */
    private static long descriptorsOf(Path d) throws IOException {
        Path real = d.toRealPath();
        long n = 0;
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).equals(real)) {
                        n++;
                    }
                } catch (IOException closedMeanwhile) {
                    // the listing's own descriptor, or one closed since
                }
            }
        }
        return n;
    }
}
