package dev.mxd.delivery;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Passes a message's text on, without the {@code Return-Path} fields of its header section, as
 * it streams: the final delivery adds its own (RFC 5321 §4.4: an SMTP server making final
 * delivery may remove those there are), so a client cannot plant one that a mail reader would
 * show or a filter would trust. Postfix's cleanup drops them likewise ({@code message_drop_headers}).
 * Only the header section is looked at; a field's continuation lines go with it; the body passes
 * untouched. Holds at most a field name's worth of octets.
 */
final class ReturnPathRemover {

    /** Where the octets go. */
    @FunctionalInterface
    interface Sink {
        void write(byte[] b, int off, int len) throws IOException;
    }

    private static final byte[] NAME = "return-path".getBytes(StandardCharsets.US_ASCII);
    /** A field name longer than this is not Return-Path (with room for white space before the colon). */
    private static final int UNDECIDED_MAX = 64;

    private final Sink out;
    private boolean inBody;
    private boolean lineStart = true;
    private boolean dropping; // the current field is a Return-Path: its lines are left out
    private final byte[] pending = new byte[UNDECIDED_MAX]; // the start of a line not decided yet
    private int pendingLength;

    ReturnPathRemover(Sink out) {
        this.out = out;
    }

    void write(byte[] b, int off, int len) throws IOException {
        int end = off + len;
        int i = off;
        while (i < end && !inBody) {
            byte c = b[i];
            if (lineStart || pendingLength > 0) {
                // The start of a header line: a continuation (SP, HT), the empty line that ends the section, or a field.
                if (pendingLength == 0 && (c == ' ' || c == '\t')) {
                    lineStart = false; // continuation: goes as its field goes
                } else {
                    pending[pendingLength++] = c;
                    i++;
                    decide();
                    continue;
                }
            }
            // Inside a line whose fate is decided: up to its LF, out or left out.
            int lf = i;
            while (lf < end && b[lf] != '\n') {
                lf++;
            }
            int stop = lf < end ? lf + 1 : end;
            if (!dropping) {
                out.write(b, i, stop - i);
            }
            if (lf < end) {
                lineStart = true;
            }
            i = stop;
        }
        if (i < end) {
            out.write(b, i, end - i);
        }
    }

    /** Ends the text: a line start still undecided goes out as it is. */
    void finish() throws IOException {
        if (pendingLength > 0) {
            out.write(pending, 0, pendingLength);
            pendingLength = 0;
        }
    }

    /** Decides the line whose start is pending, once its first octets say what it is. */
    private void decide() throws IOException {
        byte last = pending[pendingLength - 1];
        if (pendingLength == 1 && last == '\n' || pendingLength == 2 && pending[0] == '\r' && last == '\n') {
            flush(false); // the empty line: the body follows, passed as it is
            inBody = true;
            return;
        }
        if (last == ':') {
            flush(isReturnPath(pendingLength - 1));
            return;
        }
        if (last == '\n' || pendingLength == UNDECIDED_MAX) {
            flush(false); // a line without a colon, or a name too long to be Return-Path: not ours to judge
        }
    }

    private void flush(boolean drop) throws IOException {
        dropping = drop;
        if (!drop) {
            out.write(pending, 0, pendingLength);
        }
        boolean ended = pending[pendingLength - 1] == '\n';
        pendingLength = 0;
        lineStart = ended;
    }

    /** Whether the first {@code length} pending octets are "Return-Path", any case, white space after it allowed. */
    private boolean isReturnPath(int length) {
        int n = length;
        while (n > 0 && (pending[n - 1] == ' ' || pending[n - 1] == '\t')) {
            n--;
        }
        if (n != NAME.length) {
            return false;
        }
        for (int k = 0; k < n; k++) {
            int c = pending[k];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != NAME[k]) {
                return false;
            }
        }
        return true;
    }
}
