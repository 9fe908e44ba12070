package dev.mxd.smtp.client;

import java.io.InputStream;

/** Bytes made up as they are read: a large message that never exists in memory. */
final class GeneratedContent implements MessageContent {
    private final long size;
    private final int seed;

    GeneratedContent(long size, int seed) {
        this.size = size;
        this.seed = seed;
    }

    @Override
    public InputStream open() {
        return new InputStream() {
            private long position;

            @Override
            public int read() {
                return position < size ? byteAt(position++) : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (position >= size) {
                    return -1;
                }
                int n = (int) Math.min(len, size - position);
                for (int i = 0; i < n; i++) {
                    b[off + i] = (byte) byteAt(position++);
                }
                return n;
            }
        };
    }

    /** Lines of 76 characters with CRLF; some lines start with a dot; 8-bit bytes in between. */
    int byteAt(long i) {
        long column = i % 78;
        if (column == 76) {
            return '\r';
        }
        if (column == 77) {
            return '\n';
        }
        long line = i / 78;
        if (column == 0 && (line + seed) % 5 == 0) {
            return '.';
        }
        int v = (int) ((line * 31 + column * 7 + seed) % 96);
        return v < 90 ? ' ' + v : 0xA0 + v; // mostly printable ASCII, some Latin-1 high bytes
    }

    @Override
    public long size() {
        return size;
    }
}
