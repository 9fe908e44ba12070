package dev.mxd.node;

import dev.mxd.ops.LogSetup;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The signals a running mxd answers, the way a Postfix operator expects them: SIGTERM (systemd's
 * stop) and SIGINT (a terminal's Ctrl-C) stop the node cleanly, and the command then exits 0, not
 * the JVM's 143 or 130; SIGHUP reloads ({@code postfix reload}): the configuration file for
 * {@code mxd serve} ({@link ReceivingMx#reload}) and the log file reopened, the zone files for
 * {@code mxd dns}. The only class that touches {@code sun.misc.Signal}: the JDK has no other way
 * to catch SIGHUP.
 */
public final class StopOnSignal {

    private static final Logger LOG = LoggerFactory.getLogger(StopOnSignal.class);

    private final CountDownLatch stopAsked = new CountDownLatch(1);
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Runnable close;
    private final Thread hook;
    /** The handlers these replaced, put back when the node has stopped (an embedded command leaves its JVM as it was). */
    private final Map<Signal, SignalHandler> replaced = new LinkedHashMap<>();
    private volatile String signal = "exit";

    private StopOnSignal(Runnable close) {
        this.close = close;
        this.hook = new Thread(this::closeOnce, "mxd-stop");
    }

    /**
     * Runs {@code mx} until SIGTERM or SIGINT; SIGHUP reloads {@code configFile} into it (when there is
     * one: the embedded default configuration has nothing to reload) and reopens the log file. A
     * shutdown hook still closes the node when the JVM ends any other way.
     */
    public static StopOnSignal closing(ReceivingMx mx, Optional<Path> configFile) {
        return stopping(mx::close).started(mx, configFile);
    }

    /**
     * The signals answered while a node starts (its spool recovery, its first deliveries): SIGTERM and SIGINT
     * are remembered and stop the node as soon as it runs; SIGHUP reopens the log file and owes a reload, done once
     * the node serves (the configuration being started was read before it). Without this the JVM's own handlers ran:
     * a reload sent by logrotate or systemd right after a restart ended mxd with status 129 in the middle of its
     * recovery. A SIGHUP {@link HangupHold} kept since main counts as one. {@link #started} hands the node over;
     * {@link #notStarted} puts the handlers back when it did not start.
     */
    public static StopOnSignal starting() {
        StopOnSignal s = stopping(() -> { });
        s.onHangup(() -> {
            // The log file is reopened now (logrotate renamed it); the configuration, read before this, is read again
            // once the node runs, so an edit made just before the reload is not lost.
            LogSetup.reopen();
            s.reloadOwed = true;
            LOG.info("SIGHUP while starting: the log file reopened; the configuration is read again once mxd serves");
        });
        if (HangupHold.asked()) { // read once this handler is in place: a SIGHUP in between is not lost
            s.reloadOwed = true;
            LOG.info("SIGHUP while the configuration was read: it is read again once mxd serves");
        }
        return s;
    }

    private volatile boolean reloadOwed;

    /** The node {@link #starting} waited for: stopped on SIGTERM/SIGINT (at once if one came meanwhile), reloaded on SIGHUP. */
    public StopOnSignal started(ReceivingMx mx, Optional<Path> configFile) {
        close = mx::close;
        Runnable reload = () -> {
            // The log file first: after logrotate's rename, what the reload says (a configuration refused, and where)
            // goes into the file the operator reads next, not the rotated one
            LogSetup.reopen();
            LOG.info("SIGHUP: reloading");
            configFile.ifPresent(mx::reload);
        };
        onHangup(reload);
        if (reloadOwed || HangupHold.asked()) { // asked again: the hold's handler may have run after starting() looked
            synchronized (this) {
                reload.run(); // the SIGHUP that came while the node started
            }
        }
        return this;
    }

    /** The node did not start: the JVM's handlers back, no shutdown hook. A signal that came meanwhile is dropped. */
    public void notStarted() {
        replaced.forEach(Signal::handle);
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // nothing to remove
        }
    }

    /** Runs {@code mx} until SIGTERM or SIGINT, with nothing to reload (SIGHUP only reopens the log). */
    public static StopOnSignal closing(ReceivingMx mx) {
        return closing(mx, Optional.empty());
    }

    /**
     * Catches SIGTERM and SIGINT: {@link #await} returns once {@code close} has run on its caller's
     * thread, so the command ends with its own exit status.
     */
    public static StopOnSignal stopping(Runnable close) {
        StopOnSignal s = new StopOnSignal(close);
        for (String name : new String[] {"TERM", "INT"}) {
            s.handle(name, sig -> s.ask("SIG" + sig.getName()));
        }
        Runtime.getRuntime().addShutdownHook(s.hook);
        return s;
    }

    /** Runs {@code reload} on each SIGHUP, one at a time, until the node has stopped. */
    public StopOnSignal onHangup(Runnable reload) {
        handle("HUP", sig -> {
            synchronized (this) {
                reload.run();
            }
        });
        return this;
    }

    private void handle(String name, SignalHandler handler) {
        Signal sig = new Signal(name);
        SignalHandler before = Signal.handle(sig, handler);
        // Once a signal (HUP is handled twice: while starting, then serving), and not INT, which a shell's background job
        // ignores as a matter of course.
        if (before == SignalHandler.SIG_IGN && !name.equals("INT") && !replaced.containsKey(sig)) {
            // Started with the signal ignored (nohup ignores HUP): the JVM then leaves it ignored and takes no handler,
            // silently. Said, so that a reload that never happens is not taken for one.
            LOG.warn("SIG{} was ignored when mxd started (nohup, or a parent that ignores it) and stays ignored: {}; start mxd"
                    + " without it (setsid, or a service manager)", name,
                    name.equals("HUP") ? "kill -HUP does not reload the configuration" : "kill -TERM does not stop mxd");
        }
        replaced.putIfAbsent(sig, before); // the first one replaced here: the JVM's own (for HUP under serve, HangupHold's)
    }

    private void ask(String name) {
        signal = name;
        stopAsked.countDown();
    }

    private void closeOnce() {
        if (closed.compareAndSet(false, true)) {
            close.run();
        }
    }

    /**
     * Waits for SIGTERM or SIGINT, then stops the node (receiving first, then delivery) and logs it.
     * An interrupt ends the wait early, stops the node too, and stays set.
     */
    public void await() {
        try {
            stopAsked.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            signal = "interrupt";
        }
        LOG.info("stopping on {}: no new connections, 421 to open sessions, deliveries in progress finish or stay queued", signal);
        long start = System.nanoTime();
        closeOnce();
        LOG.info("stopped after {} ms", (System.nanoTime() - start) / 1_000_000);
        replaced.forEach(Signal::handle);
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is ending: the hook runs, and finds the node closed
        }
    }
}
