package dev.mxd.mail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** WorkerPool: no more threads than the work overlaps, never more than the bound, no task lost beyond it. */
class WorkerPoolTest {

    @Test
    void workDoneOneTaskAtATimeNeedsAFewThreads() throws Exception {
        ExecutorService pool = WorkerPool.start("t", 64);
        try {
            Set<String> threads = ConcurrentHashMap.newKeySet();
            for (int i = 0; i < 500; i++) {
                pool.submit(() -> threads.add(Thread.currentThread().getName())).get(10, TimeUnit.SECONDS);
            }
            // A fixed pool of 64 would have started 64 threads for these 500 tasks. Here a task
            // that comes while the thread that ran the previous one is still on its way back to
            // waiting gets a new thread, so a few, not one.
            assertThat(threads).hasSizeLessThanOrEqualTo(8);
            assertThat(((ThreadPoolExecutor) pool).getLargestPoolSize()).isLessThanOrEqualTo(8);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void overlappingTasksGetThreadsUpToTheBoundAndTheRestWait() throws Exception {
        int max = 4;
        ExecutorService pool = WorkerPool.start("t", max);
        try {
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger running = new AtomicInteger();
            AtomicInteger most = new AtomicInteger();
            List<Integer> order = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(20);
            for (int i = 0; i < 20; i++) {
                int task = i;
                pool.execute(() -> {
                    most.accumulateAndGet(running.incrementAndGet(), Math::max);
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    order.add(task);
                    running.decrementAndGet();
                    done.countDown();
                });
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (running.get() < max && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(running.get()).as("all four threads busy at once").isEqualTo(max);
            assertThat(((ThreadPoolExecutor) pool).getQueue()).as("the other 16 wait").hasSize(16);
            release.countDown();
            assertThat(done.await(10, TimeUnit.SECONDS)).as("every task ran").isTrue();
            assertThat(most.get()).isEqualTo(max);
            assertThat(((ThreadPoolExecutor) pool).getLargestPoolSize()).isEqualTo(max);
            assertThat(order).as("each task once").hasSize(20).doesNotHaveDuplicates();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void shuttingDownRunsWhatWasQueuedFirst() throws Exception {
        ExecutorService pool = WorkerPool.start("t", 2);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 10; i++) {
            pool.execute(() -> {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                ran.incrementAndGet();
            });
        }
        pool.shutdown();
        assertThatThrownBy(() -> pool.execute(() -> { })).isInstanceOf(RejectedExecutionException.class);
        release.countDown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        assertThat(ran.get()).as("the 8 that waited for a thread ran too").isEqualTo(10);
    }

    @Test
    void aShutDownPoolRefusesWork() throws Exception {
        ExecutorService pool = WorkerPool.start("t", 2);
        pool.shutdown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        assertThatThrownBy(() -> pool.execute(() -> { })).isInstanceOf(RejectedExecutionException.class);
    }
}
