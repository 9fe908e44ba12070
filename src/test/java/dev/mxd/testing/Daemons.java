package dev.mxd.testing;

import java.time.Duration;
import java.util.List;

/** Stopping the daemons tests start (Dovecot, Postfix): only by the PIDs the test itself started, bounded in time. */
public final class Daemons {

    private Daemons() {}

    /**
     * Waits at most {@code max} for a master process that was asked to stop; then kills it and
     * any of the {@code children} (taken before the stop) still alive.
     */
    public static void awaitExit(ProcessHandle master, List<ProcessHandle> children, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (master.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        if (master.isAlive()) {
            master.destroyForcibly();
        }
        for (ProcessHandle c : children) {
            if (c.isAlive()) {
                c.destroyForcibly();
            }
        }
    }
}
