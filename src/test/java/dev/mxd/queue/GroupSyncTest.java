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
