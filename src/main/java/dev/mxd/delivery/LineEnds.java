package dev.mxd.delivery;

/**
 * Turns the spool's CRLF line ends into the LF a Maildir file holds, a buffer at a time: only a
 * CR immediately followed by LF becomes LF; every other octet, a lone CR included, passes
 * unchanged, so 8-bit and binary-ish text keeps its bytes. A CR at the end of one buffer waits
 * for the first octet of the next to decide, and {@link #finish} writes it if nothing followed.
 * One instance converts one message.
 */
final class LineEnds {

    private static final byte CR = '\r';
    private static final byte LF = '\n';

    private boolean pendingCr;

    /**
     * Converts {@code in[off, off + len)} into {@code out} from index 0; returns how many octets
     * it wrote. {@code out} needs room for {@code len + 1} octets (a CR held back from the
     * previous buffer and not followed by LF comes out in front).
     */
    int convert(byte[] in, int off, int len, byte[] out) {
        if (out.length < len + 1) {
            throw new IllegalArgumentException("output buffer of " + out.length + " octets for " + len + " input octets");
        }
        int n = 0;
        for (int i = off, end = off + len; i < end; i++) {
            byte b = in[i];
            if (pendingCr) {
                pendingCr = false;
                if (b == LF) {
                    out[n++] = LF;
                    continue;
                }
                out[n++] = CR;
            }
            if (b == CR) {
                pendingCr = true;
            } else {
                out[n++] = b;
            }
        }
        return n;
    }

    /** Ends the message: a CR held back at its very end is written as is; returns 0 or 1. */
    int finish(byte[] out) {
        if (!pendingCr) {
            return 0;
        }
        pendingCr = false;
        out[0] = CR;
        return 1;
    }
}
