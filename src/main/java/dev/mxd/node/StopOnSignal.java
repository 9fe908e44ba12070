package dev.mxd.node;

import java.util.concurrent.CountDownLatch;

/**
 * Runs a node until the JVM is asked to stop (SIGTERM from systemd, SIGINT from a terminal):
 * a shutdown hook closes it, receiving first and delivery after ({@link ReceivingMx#close}),
 * and the thread that started it waits here until that is done.
 */
public final class StopOnSignal {

    private final CountDownLatch stopped = new CountDownLatch(1);

    private StopOnSignal() {
    }

    /** Registers the hook that closes {@code mx} when the JVM stops. */
    public static StopOnSignal closing(ReceivingMx mx) {
        StopOnSignal s = new StopOnSignal();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            mx.close();
            s.stopped.countDown();
        }, "mxd-stop"));
        return s;
    }

    /** Waits until the hook has closed the node; an interrupt ends the wait early and stays set. */
    public void await() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
