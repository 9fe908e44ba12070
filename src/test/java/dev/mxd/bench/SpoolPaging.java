package dev.mxd.bench;

import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * What a large queue costs to open and to page through, measured on a spool directory while
 * mxd is stopped (bench/queue-scale.sh): the start-up recovery, listing the deferred queue, and
 * reading a page of 100 envelopes at the start and in the middle, as {@code mxd queue list} does.
 * Usage: {@code SpoolPaging SPOOL_DIR}.
 */
public final class SpoolPaging {

    private SpoolPaging() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long t0 = System.nanoTime();
        Spool spool = Spool.open(dir, "mx.relay.test", Clock.systemUTC());
        long t1 = System.nanoTime();
        List<String> ids = spool.ids(QueueState.DEFERRED);
        long t2 = System.nanoTime();
        page(spool, ids, 0);
        long t3 = System.nanoTime();
        page(spool, ids, ids.size() / 2);
        long t4 = System.nanoTime();
        Runtime rt = Runtime.getRuntime();
        System.gc();
        System.out.printf(java.util.Locale.ROOT,
                "deferred %d | open+recover %.0f ms | list ids %.0f ms | first page of 100 %.1f ms | middle page %.1f ms | heap after %.0f MB%n",
                ids.size(), (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6,
                (rt.totalMemory() - rt.freeMemory()) / 1048576.0);
    }

    private static void page(Spool spool, List<String> ids, int from) throws Exception {
        for (String id : ids.subList(Math.min(from, ids.size()), Math.min(from + 100, ids.size()))) {
            spool.envelope(QueueState.DEFERRED, id);
        }
    }
}
