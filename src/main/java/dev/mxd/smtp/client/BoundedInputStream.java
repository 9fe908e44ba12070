package dev.mxd.smtp.client;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The first {@code limit} octets of a stream, then end of stream; closing it closes the stream. A stream that
 * ends before {@code limit} octets is an {@link EOFException}: a spooled text shorter than its envelope says
 * (damaged, cut) must never go out as a whole message with its final dot.
 */
final class BoundedInputStream extends FilterInputStream {

    private final long limit;
    private long left;

    BoundedInputStream(InputStream in, long limit) {
        super(in);
        this.limit = limit;
        this.left = limit;
    }

    private EOFException cut() {
        return new EOFException("the text ended after " + (limit - left) + " of its " + limit + " octets");
    }

    @Override
    public int read() throws IOException {
        if (left <= 0) {
            return -1;
        }
        int b = in.read();
        if (b < 0) {
            throw cut();
        }
        left--;
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (left <= 0) {
            return len == 0 ? 0 : -1;
        }
        int n = in.read(b, off, (int) Math.min(len, left));
        if (n < 0) {
            throw cut();
        }
        left -= n;
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long skipped = in.skip(Math.min(n, left));
        left -= skipped;
        return skipped;
    }

    @Override
    public int available() throws IOException {
        return (int) Math.min(in.available(), left);
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
