package dev.mxd.filter;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Applies an {@link FilterVerdict.Accept} to the message text while copying it: mxd's headers at
 * the top (trace-style, RFC 5322 §3.6.7), the subject prefix on the first Subject field, and the
 * body copied as is. Headers of the same names already in the message are dropped, so a sender
 * cannot pre-set "X-Spam-Status: No". Only the header section is looked at, one line at a time,
 * so memory stays bounded by one line whatever the message size.
 */
public final class MessageTagger {

    public static final String SPAM_STATUS = "X-Spam-Status";
    public static final String SPAM_SCORE = "X-Spam-Score";

    /** RFC 5322 §2.1.1 allows 998 characters a line; longer lines are copied without being looked at past this. */
    private static final int MAX_INSPECTED = 4096;

    private MessageTagger() {}

    /** Copies {@code in} to {@code out} with the verdict's headers and subject prefix applied. */
    public static void apply(FilterVerdict.Accept verdict, InputStream in, OutputStream out) throws IOException {
        tag(in, out, verdict.headers(), verdict.subjectPrefix());
    }

    public static void tag(InputStream in, OutputStream out, List<FilterVerdict.Header> headers, Optional<String> subjectPrefix)
            throws IOException {
        InputStream bin = in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 16 * 1024);
        Set<String> ours = new HashSet<>();
        for (FilterVerdict.Header h : headers) {
            out.write((h + "\r\n").getBytes(StandardCharsets.UTF_8));
            ours.add(h.name().toLowerCase(Locale.ROOT));
        }
        boolean subjectDone = subjectPrefix.isEmpty();
        boolean dropping = false;
        byte[] line = new byte[MAX_INSPECTED];
        while (true) {
            int n = readLine(bin, line);
            if (n == 0) {
                if (!subjectDone) {
                    writeSubject(out, subjectPrefix.get(), new byte[] {'\r', '\n'}, 0);
                }
                return; // a message that is all header
            }
            boolean complete = line[n - 1] == '\n';
            boolean blank = (n == 1) || (n == 2 && line[0] == '\r');
            boolean continuation = line[0] == ' ' || line[0] == '\t';
            int colon = indexOf(line, n, (byte) ':');
            if (blank || (!continuation && (colon <= 0 || !fieldName(line, colon)))) {
                // end of the header section (or a body with no blank line before it)
                if (!subjectDone) {
                    writeSubject(out, subjectPrefix.get(), new byte[] {'\r', '\n'}, 0);
                }
                out.write(line, 0, n);
                bin.transferTo(out);
                return;
            }
            if (!continuation) {
                String name = new String(line, 0, colon, StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
                dropping = ours.contains(name);
                if (!dropping && !subjectDone && name.equals("subject")) {
                    subjectDone = true;
                    int v = colon + 1;
                    while (v < n && (line[v] == ' ' || line[v] == '\t')) {
                        v++;
                    }
                    byte[] prefix = subjectPrefix.get().getBytes(StandardCharsets.UTF_8);
                    if (startsWith(line, v, n, prefix)) {
                        out.write(line, 0, n); // tagged already (a second pass): once is enough
                    } else {
                        writeSubject(out, subjectPrefix.get(), line, v, n);
                    }
                    copyRestOfLine(bin, out, complete, false);
                    continue;
                }
            }
            if (!dropping) {
                out.write(line, 0, n);
            }
            copyRestOfLine(bin, out, complete, dropping);
        }
    }

    private static void writeSubject(OutputStream out, String prefix, byte[] rest, int from) throws IOException {
        writeSubject(out, prefix, rest, from, rest.length);
    }

    private static void writeSubject(OutputStream out, String prefix, byte[] line, int from, int to) throws IOException {
        out.write("Subject: ".getBytes(StandardCharsets.US_ASCII));
        boolean emptyValue = to - from <= 2 && (to == from || line[from] == '\r' || line[from] == '\n');
        out.write((emptyValue ? prefix.strip() : prefix).getBytes(StandardCharsets.UTF_8));
        out.write(line, from, to - from);
    }

    /** Reads up to and including LF, at most line.length bytes; 0 at end of input. */
    private static int readLine(InputStream in, byte[] line) throws IOException {
        int n = 0;
        while (n < line.length) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            line[n++] = (byte) b;
            if (b == '\n') {
                break;
            }
        }
        return n;
    }

    /** The part of an over-long line past what was inspected. */
    private static void copyRestOfLine(InputStream in, OutputStream out, boolean complete, boolean dropping) throws IOException {
        if (complete) {
            return;
        }
        for (int b; (b = in.read()) >= 0; ) {
            if (!dropping) {
                out.write(b);
            }
            if (b == '\n') {
                return;
            }
        }
    }

    private static int indexOf(byte[] line, int n, byte b) {
        for (int i = 0; i < n; i++) {
            if (line[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** RFC 5322 §2.2: a field name is printable US-ASCII except colon. */
    private static boolean fieldName(byte[] line, int colon) {
        for (int i = 0; i < colon; i++) {
            if (line[i] < 33 || line[i] > 126) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWith(byte[] line, int from, int n, byte[] prefix) {
        if (n - from < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (line[from + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
