package dev.mxd.smtp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * Passes a message's text on, without the header fields of the names it is given, as it streams.
 * The spool leaves out {@code Bcc}, {@code Resent-Bcc}, {@code Content-Length} and {@code Return-Path} when it takes a
 * message ({@link #DROPPED_AT_ACCEPTANCE}), as Postfix's cleanup does by default
 * ({@code message_drop_headers}): a Bcc list a client left in would reach every recipient, a
 * Content-Length no MTA keeps true misleads mailbox readers that trust it, and a Return-Path is the final delivery's to
 * write (RFC 5321 §4.4; it leaves a relay to pass the text on unread, but Postfix drops the field at acceptance for every
 * message, and mxd follows it): a planted one passed on would be shown or trusted by the next hop's readers and filters. The final delivery leaves out {@code Return-Path} too (mail spooled before) and adds its own (RFC 5321 §4.4: an SMTP server making final delivery
 * may remove those there are), so a client cannot plant one that a mail reader would show or a
 * filter would trust; Postfix drops it likewise. Only the header section is looked at; a field's
 * continuation lines go with it; the body passes untouched. Holds at most a field name's worth
 * of octets.
 */
public final class HeaderFieldRemover {

    /** The fields the spool leaves out of every message it takes. */
    public static final List<String> DROPPED_AT_ACCEPTANCE = List.of("Bcc", "Resent-Bcc", "Content-Length", "Return-Path");

    /** Where the octets go. */
    @FunctionalInterface
    public interface Sink {
        void write(byte[] b, int off, int len) throws IOException;
    }

    /** A field name longer than this is none of those left out (with room for white space before the colon). */
    private static final int UNDECIDED_MAX = 64;

    private final byte[][] names; // lower case

    private final Sink out;
    private boolean inBody;
    private boolean lineStart = true;
    private boolean dropping; // the current field is one to leave out: its lines are
    private final byte[] pending = new byte[UNDECIDED_MAX]; // the start of a line not decided yet
    private int pendingLength;

    /** Leaves out the fields named {@code names} (any case) of what it passes to {@code out}. */
    public HeaderFieldRemover(Sink out, List<String> names) {
        this.out = out;
        this.names = names.stream().map(n -> n.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII)).toArray(byte[][]::new);
        for (byte[] n : this.names) {
            if (n.length >= UNDECIDED_MAX) {
                throw new IllegalArgumentException("a field name of at most " + (UNDECIDED_MAX - 1) + " octets");
            }
        }
    }

    public void write(byte[] b, int off, int len) throws IOException {
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

    /** The header section has ended: what comes now passes as it is. */
    public boolean inBody() {
        return inBody;
    }

    /** Ends the text: a line start still undecided goes out as it is. */
    public void finish() throws IOException {
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
            int name = nameLength(pendingLength - 1);
            boolean field = fieldName(name);
            flush(field && named(name));
            inBody = !field; // "Two words: text" is no field: the body has begun, as Postfix's cleanup reads it
            return;
        }
        if (last == '\n') {
            flush(false); // a line without a colon is no field: the body has begun (its later "Bcc:" lines are text)
            inBody = true;
        } else if (pendingLength == UNDECIDED_MAX) {
            // no colon yet: a field name too long to be one of ours (passed, the next line judged again), or, with a word
            // after white space or an octet no name has, a line of text: the body has begun
            boolean name = fieldName(nameLength(pendingLength));
            flush(false);
            inBody = !name;
        }
    }

    /** The first {@code length} pending octets without the white space after them (allowed before the colon, RFC 5322 §4.5). */
    private int nameLength(int length) {
        int n = length;
        while (n > 0 && (pending[n - 1] == ' ' || pending[n - 1] == '\t')) {
            n--;
        }
        return n;
    }

    /** The first {@code n} pending octets are a field name: printable ASCII, no colon. */
    private boolean fieldName(int n) {
        for (int k = 0; k < n; k++) {
            if (pending[k] < 33 || pending[k] > 126) {
                return false;
            }
        }
        return n > 0;
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

    /** Whether the first {@code n} pending octets are one of the names, any case. */
    private boolean named(int n) {
        for (byte[] name : names) {
            if (n == name.length && sameLetters(name, n)) {
                return true;
            }
        }
        return false;
    }

    private boolean sameLetters(byte[] name, int n) {
        for (int k = 0; k < n; k++) {
            int c = pending[k];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != name[k]) {
                return false;
            }
        }
        return true;
    }
}
