package dev.mxd.smtp.client;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Set;
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
 * socket closed, and then fails as a timeout.
 *
 * <p>A write only notes when it must end and joins the set of writes in progress; one timer thread
 * looks through that set every {@link #CHECK_EVERY} and closes the sockets of writes past their
 * limit. So a write costs two map updates and no thread wake-up (scheduling and cancelling an alarm
 * for every write woke the timer thread twice a message), and a stuck write ends at most
 * {@link #CHECK_EVERY} after its limit, which the RFC's limits (minutes) leave room for.
 */
final class WriteDeadlineOutputStream extends FilterOutputStream {

    private static final Logger LOG = LoggerFactory.getLogger(WriteDeadlineOutputStream.class);

    /** How often the writes in progress are checked against their limits. */
    static final Duration CHECK_EVERY = Duration.ofMillis(250);

    /** One daemon timer for all connections: the checks of writes, and the alarms of {@link #closeLater}. */
    private static final ScheduledThreadPoolExecutor TIMER = timer();
    /** The writes in progress, on every connection. */
    private static final Set<WriteDeadlineOutputStream> WRITING = ConcurrentHashMap.newKeySet();

    static {
        long every = CHECK_EVERY.toNanos();
        TIMER.scheduleWithFixedDelay(WriteDeadlineOutputStream::check, every, every, TimeUnit.NANOSECONDS);
    }

    private final Socket socket;
    private volatile boolean expired;
    private volatile Duration limit;
    /** {@link System#nanoTime()} by which the write in progress must end; read by the timer thread. */
    private volatile long deadline;

    WriteDeadlineOutputStream(Socket socket, Duration limit) throws IOException {
        super(socket.getOutputStream());
        this.socket = socket;
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
        deadline = System.nanoTime() + limit.toNanos();
        WRITING.add(this);
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            if (expired) {
                throw new SocketTimeoutException("the server took no data for " + Connect.text(limit));
            }
            throw e;
        } finally {
            WRITING.remove(this);
        }
    }

    /** On the timer thread: closes the socket of every write that has gone on past its limit. */
    private static void check() {
        long now = System.nanoTime();
        for (WriteDeadlineOutputStream w : WRITING) {
            try {
                if (now - w.deadline >= 0 && WRITING.contains(w)) {
                    w.expired = true;
                    close(w.socket);
                }
            } catch (RuntimeException e) {
                // one socket that cannot be closed must not end the checks of all the others (a failed run
                // of a periodic task cancels it)
                LOG.warn("closing the connection of a write past its limit failed: {}", e.toString());
            }
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
