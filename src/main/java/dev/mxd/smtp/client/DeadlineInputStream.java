package dev.mxd.smtp.client;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A socket's input bounded by one deadline for a whole reply, not per read: a server that drips
 * a byte every few seconds cannot stretch a reply past the limit the way SO_TIMEOUT alone allows.
 */
final class DeadlineInputStream extends FilterInputStream {

    private final Socket socket;
    private long deadlineNanos;

    DeadlineInputStream(Socket socket) throws IOException {
        super(socket.getInputStream());
        this.socket = socket;
    }

    void deadline(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public int read() throws IOException {
        arm();
        return super.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        arm();
        return super.read(b, off, len);
    }

    private void arm() throws IOException {
        long remainingMillis = (deadlineNanos - System.nanoTime()) / 1_000_000;
        if (remainingMillis <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, remainingMillis));
    }
}
