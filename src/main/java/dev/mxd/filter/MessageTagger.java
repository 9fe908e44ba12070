package dev.mxd.filter;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
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
 * body copied as is. Headers of the same names already in the message are dropped, and every
 * X-Spam-* and X-Mxd-* field with them (as SpamAssassin removes X-Spam-* before it checks), so a
 * sender cannot pre-set "X-Spam-Status: No" or "X-Spam-Flag: NO" for a reader's filter to trust. A
 * field name may have white space before its colon (RFC 5322 §4.5.3's obsolete form), and a line
 * that is no field does not end the header section: its empty line does, as readers take it. Only the
 * header section is looked at, one line at a time, so memory stays bounded by one line whatever
 * the message size.
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
            int nameEnd = colon <= 0 ? colon : nameEnd(line, colon);
            if (!blank && !continuation && (nameEnd <= 0 || !fieldName(line, nameEnd))) {
                // Not a field RFC 5322 allows ("Foo Bar: x", an 8-bit name, a line with no colon): kept as it is, and the
                // header section goes on to its empty line, as readers (Dovecot, SpamAssassin) take it. Ending it here
                // let a sender's X-Spam-Flag: NO after such a line through to the reader's filter.
                dropping = false;
                out.write(line, 0, n);
                copyRestOfLine(bin, out, complete, false);
                continue;
            }
            if (blank) {
                // the end of the header section
                if (!subjectDone) {
                    writeSubject(out, subjectPrefix.get(), new byte[] {'\r', '\n'}, 0);
                }
                out.write(line, 0, n);
                bin.transferTo(out);
                return;
            }
            if (!continuation) {
                String name = new String(line, 0, nameEnd, StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
                dropping = ours.contains(name) || foreignVerdict(name);
                if (!dropping && !subjectDone && name.equals("subject")) {
                    subjectDone = true;
                    int v = colon + 1;
                    while (v < n && (line[v] == ' ' || line[v] == '\t')) {
                        v++;
                    }
                    if (startsWith(line, v, n, rendered(subjectPrefix.get(), false).strip().getBytes(StandardCharsets.US_ASCII))
                            || startsWith(line, v, n, rendered(subjectPrefix.get(), true).strip().getBytes(StandardCharsets.US_ASCII))) {
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
        boolean beforeWord = !emptyValue && startsWith(line, from, to, ENCODED_WORD);
        String p = rendered(emptyValue ? prefix.strip() : prefix, beforeWord);
        // RFC 2047 §5: an encoded-word is set apart by white space: "[SPAM]=?UTF-8?B?...?=" shows the raw word.
        if (beforeWord && !p.isEmpty() && !Character.isWhitespace(p.charAt(p.length() - 1))) {
            p += " ";
        }
        // A line the prefix would push past RFC 5322's 998 octets is folded after the prefix (where its space was): read
        // unfolded it is the same text. A line longer before (or one not read whole) is left as it came.
        boolean whole = to > from && line[to - 1] == '\n';
        int lineEnd = whole ? (to - from >= 2 && line[to - 2] == '\r' ? 2 : 1) : 0;
        int octets = "Subject: ".length() + p.length() + (to - from) - lineEnd;
        if (whole && octets > MAX_LINE && octets - p.length() <= MAX_LINE) {
            p = p.stripTrailing() + "\r\n";
            if (line[from] != ' ' && line[from] != '\t') {
                p += " ";
            }
        }
        out.write(p.getBytes(StandardCharsets.US_ASCII));
        out.write(line, from, to - from);
    }

    /** RFC 5322 §2.1.1: a header line is at most 998 octets without its CRLF. */
    private static final int MAX_LINE = 998;

    private static final byte[] ENCODED_WORD = {'=', '?'};

    /**
     * The prefix as written into the field: as it is when ASCII; otherwise one RFC 2047 encoded-word
     * (UTF-8, base64), so the header stays ASCII whatever the message's envelope (a 7-bit message
     * relayed without SMTPUTF8 must not gain 8-bit octets), then white space. The prefix's own trailing
     * space goes inside the word when an encoded-word follows (§6.2: the space between two words is
     * not shown), outside before plain text.
     */
    static String rendered(String prefix, boolean beforeEncodedWord) {
        if (prefix.chars().allMatch(c -> c < 0x80)) {
            return prefix;
        }
        String word = beforeEncodedWord ? prefix : prefix.stripTrailing();
        String after = beforeEncodedWord || word.length() == prefix.length() ? " " : prefix.substring(word.length());
        // RFC 2047 §2: an encoded-word is at most 75 characters: 45 octets of UTF-8 each (72), cut between characters;
        // the space between two encoded-words is not shown (§6.2).
        StringBuilder out = new StringBuilder();
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            byte[] octets = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
            if (chunk.size() + octets.length > 45) {
                out.append(encodedWord(chunk.toByteArray())).append(' ');
                chunk.reset();
            }
            chunk.write(octets, 0, octets.length);
            i += Character.charCount(cp);
        }
        return out.append(encodedWord(chunk.toByteArray())).append(after).toString();
    }

    private static String encodedWord(byte[] utf8) {
        return "=?UTF-8?B?" + java.util.Base64.getEncoder().encodeToString(utf8) + "?=";
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

    /** Where the field name before {@code colon} ends: white space before the colon is not part of it (obs-optional). */
    private static int nameEnd(byte[] line, int colon) {
        int end = colon;
        while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) {
            end--;
        }
        return end;
    }

    /** RFC 5322 §2.2: a field name is printable US-ASCII except colon. */
    private static boolean fieldName(byte[] line, int end) {
        for (int i = 0; i < end; i++) {
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

    /**
     * A spam or scan verdict field as a sender could forge it for a reader's filter to trust: SpamAssassin's
     * {@code X-Spam-*}, Rspamd's {@code X-Spam}, {@code X-Spamd-*} and {@code X-Rspamd-*} (Rspamd drops an upstream
     * {@code X-Spam} too), and mxd's own {@code X-Mxd-*}. {@code name} is lower case.
     */
    static boolean foreignVerdict(String name) {
        return name.startsWith("x-spam-") || name.equals("x-spam") || name.startsWith("x-spamd-") || name.startsWith("x-rspamd-")
                || name.startsWith("x-mxd-");
    }
}
