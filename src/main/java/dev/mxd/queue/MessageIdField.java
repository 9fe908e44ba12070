package dev.mxd.queue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The Message-ID of a received text, for the log line Postfix's cleanup writes ({@code ID:
 * message-id=<...>}), by which operators trace a message through the log. Read from the header
 * section only, at most {@link #HEADER_LIMIT} octets of it; the first Message-ID field counts,
 * unfolded, its value cut at {@link #VALUE_LIMIT} characters.
 */
final class MessageIdField {

    /** Header octets looked at: a Message-ID further down than this is not found. */
    static final int HEADER_LIMIT = 64 * 1024;
    /** Characters of the value kept. */
    static final int VALUE_LIMIT = 250;

    private static final byte[] NAME = "message-id:".getBytes(StandardCharsets.US_ASCII);

    private MessageIdField() {}

    /** The value of the first Message-ID field, stripped; empty when there is none in the header section. */
    static Optional<String> of(InputStream text) throws IOException {
        byte[] head = text.readNBytes(HEADER_LIMIT);
        int lineStart = 0;
        while (lineStart < head.length) {
            int end = lineEnd(head, lineStart);
            if (end == lineStart || end == lineStart + 1 && head[lineStart] == '\r') {
                return Optional.empty(); // the empty line that ends the header section
            }
            if (named(head, lineStart, end)) {
                StringBuilder value = new StringBuilder();
                append(value, head, lineStart + NAME.length, end);
                int next = end + 1;
                while (next < head.length && (head[next] == ' ' || head[next] == '\t')) { // folded on (RFC 5322 §2.2.3)
                    int e = lineEnd(head, next);
                    append(value, head, next, e);
                    next = e + 1;
                }
                String v = value.toString().strip();
                return Optional.of(v.length() > VALUE_LIMIT ? v.substring(0, VALUE_LIMIT) : v);
            }
            lineStart = end + 1;
        }
        return Optional.empty();
    }

    /** The index of the LF that ends the line starting at {@code from}, or the end of the data. */
    private static int lineEnd(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return b.length;
    }

    private static boolean named(byte[] b, int from, int end) {
        if (end - from < NAME.length) {
            return false;
        }
        for (int i = 0; i < NAME.length; i++) {
            int c = b[from + i];
            if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != NAME[i]) {
                return false;
            }
        }
        return true;
    }

    /** Appends one line's octets, its CR left out, as ISO-8859-1 characters (the log escapes what is not printable). */
    private static void append(StringBuilder value, byte[] b, int from, int end) {
        for (int i = from; i < end && value.length() <= VALUE_LIMIT; i++) {
            if (b[i] != '\r') {
                value.append((char) (b[i] & 0xff));
            }
        }
    }
}
