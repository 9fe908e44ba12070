package dev.mxd.smtp;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads SMTP replies from a blocking stream, a line at a time, never buffering more than one
 * line of {@link SmtpReplyParser#MAX_LINE_BYTES} (a longer line is cut there, the rest skipped). Lines end in CRLF (RFC 5321 §2.3.8); a bare LF
 * is accepted too, as deployed clients do. Timeouts are the stream's business.
 */
public final class SmtpReplyReader {

    private final InputStream in;
    private final SmtpReplyParser parser = new SmtpReplyParser();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(128);

    /** {@code in} should be buffered: this reads one byte at a time. */
    public SmtpReplyReader(InputStream in) {
        this.in = in;
    }

    /**
     * The next complete reply.
     *
     * @throws MalformedReplyException if the peer sends something that is not a reply or too much of it
     * @throws EOFException            if the connection closes before the reply is complete
     */
    public SmtpReply read() throws IOException {
        int linesRead = 0;
        long octets = 0;
        while (true) {
            byte[] next = readLine(linesRead);
            linesRead++;
            octets += lastLineOctets;
            if (octets > MAX_REPLY_OCTETS) {
                throw new MalformedReplyException("reply longer than " + MAX_REPLY_OCTETS + " octets");
            }
            Optional<SmtpReply> reply = parser.line(next);
            if (reply.isPresent()) {
                return reply.get();
            }
        }
    }

    /**
     * The next complete reply, its code that of its last line even where the lines' codes differ (the reply to a
     * final dot, {@link SmtpReplyParser#lastLineDecides}); {@link #mixedFrom} says whether they did.
     */
    public SmtpReply readFinal() throws IOException {
        parser.lastLineDecides();
        return read();
    }

    /**
     * The first code of the reply {@link #readFinal} read, when its lines had more than one (its connection is not to
     * be used again); empty when they had one.
     */
    public java.util.OptionalInt mixedFrom() {
        return parser.mixedFrom();
    }

    /** Whether octets are waiting to be read, without waiting for any. */
    public boolean buffered() throws IOException {
        return in.available() > 0;
    }

    /**
     * The longest reply line read at all; its first {@link SmtpReplyParser#MAX_LINE_BYTES} are kept and the rest
     * skipped, as Postfix skips it. A megabyte: a server's 70 KB rejection text is still its reply (refused, the
     * message after it counted "maybe delivered" and sent again at every retry); the read's deadline bounds the rest.
     */
    static final int MAX_SKIPPED = 1024 * 1024;

    /** The most octets of one reply read at all, over all its lines: a runaway peer's reply is refused past it. */
    static final int MAX_REPLY_OCTETS = 2 * 1024 * 1024;

    /** Octets of the line {@link #readLine} read last, skipped ones included. */
    private int lastLineOctets;

    private byte[] readLine(int linesRead) throws IOException {
        line.reset();
        int length = 0;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException(linesRead == 0 && line.size() == 0
                        ? "connection closed by the server before it replied"
                        : "connection closed by the server in the middle of a reply (after " + linesRead + " complete lines)");
            }
            if (b == '\n') {
                lastLineOctets = length + 1;
                byte[] bytes = line.toByteArray();
                int n = bytes.length;
                return n > 0 && bytes[n - 1] == '\r' ? Arrays.copyOf(bytes, n - 1) : bytes;
            }
            // Room for the line's bytes plus the LF still to come; a CR at the end is part of the CRLF.
            // Past that the line is cut and the rest skipped, as Postfix does; a line that never ends is a runaway.
            if (++length > MAX_SKIPPED) {
                throw new MalformedReplyException("reply line longer than " + MAX_SKIPPED + " bytes without an end of line");
            }
            if (line.size() + 1 < SmtpReplyParser.MAX_LINE_BYTES) {
                line.write(b);
            }
        }
    }
}
