package dev.mxd.node;

import sun.misc.Signal;

/**
 * SIGHUP from the first line of {@code mxd serve}'s main until {@link StopOnSignal#starting} takes over: remembered, so
 * that a reload sent while the configuration is read and the log set up (logrotate's or systemd's, right after a start)
 * is done once the node serves, where the JVM's own handler ended mxd with status 129 and no word. Nothing here loads
 * the logging: the hold is in place within the JVM's first moments of running mxd. What comes before main (the JVM's
 * own start) stays the JVM's; a signal the parent ignored (nohup) stays ignored, and {@link StopOnSignal} says so.
 */
public final class HangupHold {

    private static volatile boolean asked;

    private HangupHold() {}

    /** Holds SIGHUP until {@link StopOnSignal#starting}. */
    public static void start() {
        Signal.handle(new Signal("HUP"), sig -> asked = true);
    }

    /** Whether a SIGHUP came while holding (read once the node's own handler is in place). */
    static boolean asked() {
        return asked;
    }
}
