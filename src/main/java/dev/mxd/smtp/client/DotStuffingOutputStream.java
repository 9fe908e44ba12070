package dev.mxd.smtp.client;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Turns message content into the DATA body of RFC 5321 §4.1.1.4 as it streams through: a line
 * that starts with "." gets one more (transparency, §4.5.2), a bare LF becomes CRLF (§2.3.8: the
 * spool may hold LF line ends), and {@link #finish()} ends the last line and writes the final
 * ".". Holds no more than the caller's block: a 25 MB message never sits in memory.
 * A CR not followed by LF passes unchanged, as Postfix sends it. A line longer than
 * {@link #MAX_LINE} octets (RFC 5321 §4.5.3.1.6: 1000 with its CRLF), which mxd may have received
 * (its own limit is {@code limits.max-data-line-length}), is broken by inserting CRLF and a space,
 * as Postfix's {@code smtp_line_length_limit = 998} does: the server gets lines it must take, and
 * the space keeps a folded header field one field.
 */
final class DotStuffingOutputStream extends FilterOutputStream {

    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] END = {'.', '\r', '\n'};
    private static final byte[] FOLD = {'\r', '\n', ' '};
    /** The longest line sent, CRLF not counted (RFC 5321 §4.5.3.1.6). */
    static final int MAX_LINE = 998;

    private boolean lineStart = true;
    private boolean afterCr;
    private int column; // octets of the current line sent so far
    private long written;

    DotStuffingOutputStream(OutputStream out) {
        super(out);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        int run = off;
        int end = off + len;
        for (int i = off; i < end; i++) {
            byte c = b[i];
            if (c == '\n') {
                if (!afterCr) {
                    emit(b, run, i - run);
                    emit(CRLF, 0, 1);
                    run = i;
                }
                lineStart = true;
                afterCr = false;
                column = 0;
            } else {
                if (column >= MAX_LINE && c != '\r') {
                    emit(b, run, i - run);
                    emit(FOLD, 0, 3);
                    run = i;
                    column = 1;
                    lineStart = false;
                }
                if (lineStart && c == '.') {
                    emit(b, run, i - run);
                    emit(END, 0, 1); // the dot duplicated for transparency: not counted in the line (RFC 5321 §4.5.3.1.6)
                    run = i;
                }
                lineStart = false;
                afterCr = c == '\r';
                column++;
            }
        }
        emit(b, run, end - run);
    }

    /** Ends the last line if the content did not, then writes the terminating "." line (§4.1.1.4). */
    void finish() throws IOException {
        if (afterCr) {
            emit(CRLF, 1, 1);
        } else if (!lineStart) {
            emit(CRLF, 0, 2);
        }
        emit(END, 0, 3);
        lineStart = true;
        afterCr = false;
        column = 0;
        out.flush();
    }

    /** Bytes written to the server, stuffing and line ends included. */
    long written() {
        return written;
    }

    private void emit(byte[] b, int off, int len) throws IOException {
        if (len > 0) {
            out.write(b, off, len);
            written += len;
        }
    }

    @Override
    public void close() {
        // the socket outlives one message
    }
}
