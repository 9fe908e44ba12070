package dev.mxd.smtp.client;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A socket's output with a time limit per write. Blocking socket writes have no timeout in Java:
 * a server that stops reading would hold a delivery thread forever once the TCP window fills.
 * RFC 5321 §4.5.3.2.5 bounds each data block (3 minutes), so a timer closes the socket when one
 * write takes longer, and the write then fails as a timeout.
 */
final class WriteDeadlineOutputStream extends FilterOutputStream {

    /** One daemon timer for all connections: arming and cancelling costs a queue insert, not a thread. */
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private final Socket socket;
    private volatile boolean expired;
    private Duration limit;

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
        ScheduledFuture<?> alarm = closeLater(socket, limit, () -> expired = true);
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            if (expired) {
                throw new SocketTimeoutException("the server took no data for " + Connect.text(limit));
            }
            throw e;
        } finally {
            alarm.cancel(false);
        }
    }

    /**
     * Closes {@code socket} after {@code limit} unless the returned future is cancelled first: the
     * bound for blocking calls that have no timeout of their own (writes, the TLS handshake's).
     */
    static ScheduledFuture<?> closeLater(Socket socket, Duration limit, Runnable onExpiry) {
        return TIMER.schedule(() -> {
            onExpiry.run();
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is all we wanted
            }
        }, limit.toNanos(), TimeUnit.NANOSECONDS);
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
