package dev.mxd.smtp.client;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A socket's output with a time limit per write. Blocking socket writes have no timeout in Java:
 * a server that stops reading would hold a delivery thread forever once the TCP window fills.
 * RFC 5321 §4.5.3.2.5 bounds each data block (3 minutes), so a write that takes longer has its
 * TCP connection closed, and then fails as a timeout.
 *
 * <p>A write only notes when it must end, in a map of the writes in progress; one timer thread
 * looks through that map every {@link #CHECK_EVERY} and closes the connections of writes past their
 * limit. So a write costs two map updates and wakes no thread (an alarm scheduled and cancelled for
 * every write woke the timer thread about once a message), and a stuck write ends at most
 * {@link #CHECK_EVERY} after its limit, which the RFC's limits (minutes) leave room for.
 *
 * <p>Under TLS it is the TCP socket beneath that is closed: closing the TLS socket would first wait
 * for the lock that the stuck write holds, and the timer thread with it.
 */
final class WriteDeadlineOutputStream extends FilterOutputStream {

    private static final Logger LOG = LoggerFactory.getLogger(WriteDeadlineOutputStream.class);

    /** How often the writes in progress are checked against their limits. */
    static final Duration CHECK_EVERY = Duration.ofSeconds(1);

    /** One daemon timer for all connections: the checks of writes, and the alarms of {@link #closeLater}. */
    private static final ScheduledThreadPoolExecutor TIMER = timer();
    /** The writes in progress on every connection, with the {@link System#nanoTime()} by which each must end. */
    private static final ConcurrentHashMap<WriteDeadlineOutputStream, Long> WRITING = new ConcurrentHashMap<>();

    /**
     * Whether the check is scheduled. Done by the first connection, not when the class is loaded: a
     * thread that cannot be had then (a host's thread limit) would leave the class unusable for the
     * life of the process. The thread is asked for first, and only with it running is the check
     * scheduled, so the check is never marked scheduled without being so; a connection that finds no
     * thread fails with an IOException and the next one asks again.
     */
    private static boolean checkScheduled; // guarded by START
    private static final Object START = new Object();

    /**
     * Makes sure writes are checked against their limits; an IOException when no thread can be had for
     * it. {@code SmtpConnection} calls it before every connect, so every stream made after has its check.
     */
    static void startChecks() throws IOException {
        synchronized (START) {
            if (checkScheduled) {
                return;
            }
            if (TIMER.getPoolSize() == 0) {
                try {
                    TIMER.prestartCoreThread();
                } catch (OutOfMemoryError noThread) {
                    throw new IOException("cannot start the thread that bounds outbound writes: " + noThread.getMessage(), noThread);
                }
            }
            long every = CHECK_EVERY.toNanos();
            TIMER.scheduleWithFixedDelay(WriteDeadlineOutputStream::check, every, every, TimeUnit.NANOSECONDS);
            checkScheduled = true;
        }
    }

    private final Socket tcp;
    private volatile boolean expired;
    private volatile Duration limit;

    /**
     * @param socket where the writes go: the TCP socket, or the TLS socket over it
     * @param tcp    the TCP socket itself, closed when a write runs out of time
     */
    WriteDeadlineOutputStream(Socket socket, Socket tcp, Duration limit) throws IOException {
        super(socket.getOutputStream());
        this.tcp = tcp;
        this.limit = limit;
    }

    void limit(Duration d) {
        this.limit = d;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Duration l = limit;
        WRITING.put(this, System.nanoTime() + l.toNanos());
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            if (expired) {
                throw new SocketTimeoutException("the server took no data for " + Connect.text(l));
            }
            throw e;
        } finally {
            WRITING.remove(this);
        }
    }

    /** On the timer thread: closes the connection of every write that has gone on past its limit. */
    private static void check() {
        try {
            long now = System.nanoTime();
            for (Map.Entry<WriteDeadlineOutputStream, Long> e : WRITING.entrySet()) {
                WriteDeadlineOutputStream w = e.getKey();
                long deadline = e.getValue();
                // removing exactly this write's entry claims it: a write that ended meanwhile, and the next
                // write on the same stream (another deadline), are left alone
                if (now - deadline >= 0 && WRITING.remove(w, deadline)) {
                    w.expired = true;
                    close(w.tcp);
                }
            }
        } catch (Throwable t) {
            // anything thrown here would cancel the periodic check, and no stuck write would ever end again
            LOG.warn("checking the outbound writes' time limits failed: {}", t.toString());
        }
    }

    /**
     * Closes {@code socket} after {@code limit} unless the returned future is cancelled first: the
     * bound for blocking calls that have no timeout of their own (the TLS handshake's).
     */
    static ScheduledFuture<?> closeLater(Socket socket, Duration limit, Runnable onExpiry) {
        return TIMER.schedule(() -> {
            onExpiry.run();
            close(socket);
        }, limit.toNanos(), TimeUnit.NANOSECONDS);
    }

    private static void close(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread thread = new Thread(r, "smtp-client-write-deadline");
            thread.setDaemon(true);
            return thread;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }
}
