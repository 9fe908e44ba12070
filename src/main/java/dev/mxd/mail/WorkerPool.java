package dev.mxd.mail;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads for blocking work (a commit waiting on fsync, a delivery waiting on a remote server),
 * as many as the work has needed at once, up to a bound; beyond it, tasks wait in order.
 *
 * <p>A fixed pool of the same bound starts a new thread for every task until it has them all,
 * even while the ones it has sit idle: 64 commit threads and 100 delivery threads under any
 * steady load, each with its stack and its share of the allocator. Here a task goes to an idle
 * thread when there is one, and a new thread is started only when none is idle. Threads are
 * kept once started (no idle timeout): one that ended while a task was being queued for it
 * would leave that task waiting for another to finish, and a pool that shrinks and grows again
 * would be starting threads, which can fail, long after start-up.
 */
public final class WorkerPool {

    private WorkerPool() {
    }

    /** A daemon pool of threads named {@code name-N}, at most {@code max} of them. */
    public static ExecutorService start(String name, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("a pool of at least one thread, not " + max);
        }
        HandOff queue = new HandOff();
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(1, max, Long.MAX_VALUE, TimeUnit.NANOSECONDS, queue, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, (task, executor) -> {
            // every thread is busy and there are max of them: the task waits its turn
            if (executor.isShutdown()) {
                throw new RejectedExecutionException(name + " is shut down");
            }
            queue.enqueue(task);
            if (executor.isShutdown() && queue.remove(task)) {
                // shut down meanwhile: its threads may be gone already, so the task would never run
                throw new RejectedExecutionException(name + " is shut down");
            }
        });
    }

    /**
     * The executor's queue: {@code offer} succeeds only by handing the task straight to an idle
     * thread, so the executor starts a new thread when none is idle; tasks beyond the bound are
     * put in by the rejection handler and taken in order.
     */
    private static final class HandOff extends LinkedTransferQueue<Runnable> {
        @Override
        public boolean offer(Runnable task) {
            return tryTransfer(task);
        }

        void enqueue(Runnable task) {
            super.offer(task);
        }
    }
}
