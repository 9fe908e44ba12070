package dev.mxd.testing;

import java.time.Duration;
import java.util.concurrent.Callable;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Waiting on a condition for tests whose own assertion, right after the wait, says best what is
 * missing: Awaitility polls (every 20 ms, in the calling thread) and the wait returns whether the
 * condition came true in time instead of failing on its own. It leaves the JVM's default
 * uncaught-exception handler alone (Awaitility swaps it by default), since server threads such as
 * FakeSmtpServer's wait through it at the same time as the test thread.
 */
public final class Await {

    private static final Duration POLL = Duration.ofMillis(20);

    private Await() {}

    /** Polls {@code condition} for at most {@code max}; true as soon as it holds, false if it never did. */
    public static boolean within(Duration max, Callable<Boolean> condition) {
        return within(max, POLL, condition);
    }

    /** Like {@link #within(Duration, Callable)}, polling every {@code every}. */
    public static boolean within(Duration max, Duration every, Callable<Boolean> condition) {
        Duration atMost = max.compareTo(Duration.ofMillis(1)) < 0 ? Duration.ofMillis(1) : max; // a deadline already past: one look
        try {
            Awaitility.await().atMost(atMost).pollDelay(Duration.ZERO).pollInterval(every).pollInSameThread()
                    .dontCatchUncaughtExceptions().until(condition);
            return true;
        } catch (ConditionTimeoutException e) {
            return false;
        }
    }
}
