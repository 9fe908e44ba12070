package dev.mxd.smtp;

import java.util.Optional;

/**
 * Reads message text after DATA, byte by byte, so that the end of the text is found exactly
 * where RFC 5321 §4.1.1.4 puts it and nowhere else: a line that is a single "." ended by
 * CRLF. A leading dot is removed from other lines (dot-unstuffing, §4.5.2). A bare CR stops
 * decoding, and so does a bare LF unless the decoder normalizes it ({@link BareLf}): those are
 * what "SMTP smuggling" uses to make two servers disagree on where a message ends. A normalized
 * LF, and CR CR LF, end a line stored as CRLF, but a "." line a bare LF starts or ends, or that
 * CR CR LF ends, is text, never the end of the message; no bare CR is passed on to a next hop.
 *
 * <p>Feed it bytes as they arrive; it tells how many it used, so bytes after the end of the
 * text stay with the caller as the next commands. The decoded text goes to a {@link TextSink}
 * in small pieces: memory per message is this decoder's staging buffer, whatever the size.
 * Once the text is over the size limit or has an over-long line it will be refused, and
 * nothing more goes to the sink.
 */
public final class DataDecoder {

    private enum State { LINE_START, DOT, DOT_CR, TEXT, CR, FINISHED }

    // Limits.
    private final long maxSize;
    private final int maxLineLength;
    private final int maxHops;
    private final BareLf bareLf;

    // Decoding state.
    private State state = State.LINE_START;
    private int lineLength; // octets of the current line so far, CRLF not counted
    private long offset;    // octets read, for messages
    private boolean afterBareLf; // the current line began after a normalized bare LF: a lone "." on it is text
    private int extraCrs;        // normalizing: CRs after the first before the LF that ends this line (CR CR LF)

    // Where the text goes: through a small staging buffer, so the sink sees few large writes.
    private static final int STAGING = 8 * 1024;
    private final TextSink sink;
    private final byte[] staged;
    private int stagedLength;

    // The header section, scanned as it passes for Received fields (hop counting, RFC 5321 §6.3).
    private static final byte[] RECEIVED = "received:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private boolean inHeader = true;
    private int headerColumn;        // octets of the current header line so far, CR not counted
    private boolean receivedSoFar = true; // the current line starts like "Received:" so far
    private int hops;

    // What was found.
    private long size;
    private boolean tooLong;
    private DataOutcome outcome;

    public DataDecoder(long maxSize, int maxLineLength, TextSink sink) {
        this(maxSize, maxLineLength, sink, newStaging());
    }

    /**
     * A decoder staging its output in {@code staging} (from {@link #newStaging}), which a
     * connection reuses for each of its messages instead of allocating one per message.
     */
    public DataDecoder(long maxSize, int maxLineLength, TextSink sink, byte[] staging) {
        this(maxSize, maxLineLength, Integer.MAX_VALUE, BareLf.REJECT, sink, staging);
    }

    /**
     * A decoder that also refuses a header section with more than {@code maxHops} Received fields,
     * and treats a bare LF as {@code bareLf} says.
     */
    public DataDecoder(long maxSize, int maxLineLength, int maxHops, BareLf bareLf, TextSink sink, byte[] staging) {
        if (staging.length != STAGING) {
            throw new IllegalArgumentException("staging buffer of " + staging.length + " octets; use newStaging()");
        }
        this.maxSize = maxSize;
        this.maxLineLength = maxLineLength;
        this.maxHops = maxHops;
        this.bareLf = bareLf;
        this.sink = sink;
        this.staged = staging;
    }

    /** A staging buffer for {@link #DataDecoder(long, int, TextSink, byte[])}. */
    public static byte[] newStaging() {
        return new byte[STAGING];
    }

    /** Reads from {@code buf[off..off+len)} and returns how many bytes it used; stops at the end of the text. */
    public int feed(byte[] buf, int off, int len) {
        int k = off;
        int end = off + len;
        while (k < end && state != State.FINISHED) {
            byte b = buf[k++];
            offset++;
            switch (state) {
                case LINE_START -> {
                    if (b == '.') {
                        state = State.DOT; // removed: either the end marker or a stuffed dot
                    } else {
                        text(b);
                    }
                }
                case DOT -> {
                    if (b == '\r') {
                        state = State.DOT_CR;
                        extraCrs = 0;
                    } else if (b == '\n' && bareLf == BareLf.NORMALIZE) {
                        dotLineAsText(true); // "." then a bare LF: not the end (RFC 5321 §4.1.1.4 wants CRLF)
                    } else {
                        text(b);
                    }
                }
                case DOT_CR -> {
                    if (b == '\n' && extraCrs == 0 && !afterBareLf) {
                        finish(null); // CRLF "." CRLF, and nothing else, ends the text
                    } else if (b == '\n') {
                        dotLineAsText(false); // LF "." CRLF, or "." CR CR LF: not the end marker, so a line of text
                    } else if (b == '\r' && bareLf == BareLf.NORMALIZE) {
                        crOfARun();
                    } else {
                        bare();
                    }
                }
                case TEXT -> text(b);
                case CR -> {
                    if (b == '\n') {
                        lineEnd(false);
                    } else if (b == '\r' && bareLf == BareLf.NORMALIZE) {
                        crOfARun();
                    } else {
                        bare();
                    }
                }
                default -> throw new IllegalStateException(state.name());
            }
        }
        return k - off;
    }

    /**
     * Normalizing, a CR after a CR: CR CR LF (what PHP's mail() and some mailers write) is one line end, stored as
     * CRLF; a CR run that something other than LF ends is refused as a bare CR would be. A run longer than a line
     * may be is refused as a line too long would be, so it cannot go on unbounded.
     */
    private void crOfARun() {
        if (++extraCrs > maxLineLength) {
            tooLong = true;
        }
    }

    private void text(byte b) {
        if (b == '\r') {
            state = State.CR;
            extraCrs = 0;
        } else if (b == '\n') {
            if (bareLf == BareLf.NORMALIZE) {
                lineEnd(true);
            } else {
                bare();
            }
        } else {
            if (++lineLength > maxLineLength - 2) {
                tooLong = true;
            }
            append(b);
            state = State.TEXT;
        }
    }

    /** A line ends: stored with CRLF whatever ended it; {@code bareLfEnded} when a bare LF did. */
    private void lineEnd(boolean bareLfEnded) {
        append((byte) '\r');
        append((byte) '\n');
        lineLength = 0;
        afterBareLf = bareLfEnded;
        state = State.LINE_START;
    }

    /** A "." line that is not the end of the text (a bare LF before or after it) is kept as a line of text. */
    private void dotLineAsText(boolean bareLfEnded) {
        lineLength = 1;
        append((byte) '.');
        lineEnd(bareLfEnded);
    }

    private void bare() {
        finish(new DataOutcome.BareLineEnding(offset - 1));
    }

    private void finish(DataOutcome problem) {
        state = State.FINISHED;
        if (problem != null) {
            outcome = problem;
        } else if (size > maxSize) {
            outcome = new DataOutcome.TooBig(size);
        } else if (tooLong) {
            outcome = new DataOutcome.LineTooLong(maxLineLength);
        } else if (hops > maxHops) {
            outcome = new DataOutcome.TooManyHops(hops, maxHops);
        } else {
            flush();
            outcome = new DataOutcome.Complete(size);
        }
    }

    private void append(byte b) {
        if (inHeader) {
            header(b);
        }
        size++;
        if (size > maxSize || tooLong) {
            return; // keep counting, stop storing: the message will be refused
        }
        if (stagedLength == STAGING) {
            flush();
        }
        staged[stagedLength++] = b;
    }

    /** Counts the header section's Received fields; a continuation line starts with white space, so it never counts. */
    private void header(byte b) {
        if (b == '\r') {
            return;
        }
        if (b == '\n') {
            if (headerColumn == 0) {
                inHeader = false; // the empty line: the body starts
            } else if (receivedSoFar && headerColumn >= RECEIVED.length) {
                hops++;
            }
            headerColumn = 0;
            receivedSoFar = true;
            return;
        }
        if (headerColumn < RECEIVED.length) {
            receivedSoFar &= (b | 0x20) == RECEIVED[headerColumn]; // ASCII letters lowered; ':' has the bit already
        }
        headerColumn++;
    }

    private void flush() {
        if (stagedLength > 0) {
            sink.write(staged, 0, stagedLength);
            stagedLength = 0;
        }
    }

    /** The outcome once the text has ended (or was refused); empty while more bytes are needed. */
    public Optional<DataOutcome> outcome() {
        return Optional.ofNullable(outcome);
    }

    /** Octets of message text so far, after unstuffing. */
    public long size() {
        return size;
    }
}
