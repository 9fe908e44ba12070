package dev.mxd.smtp;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads SMTP replies from a blocking stream, a line at a time, never buffering more than one
 * line of {@link SmtpReplyParser#MAX_LINE_BYTES}. Lines end in CRLF (RFC 5321 §2.3.8); a bare LF
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
        while (true) {
            byte[] next = readLine(linesRead);
            linesRead++;
            Optional<SmtpReply> reply = parser.line(next);
            if (reply.isPresent()) {
                return reply.get();
            }
        }
    }

    private byte[] readLine(int linesRead) throws IOException {
        line.reset();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException(linesRead == 0 && line.size() == 0
                        ? "connection closed by the server before it replied"
                        : "connection closed by the server in the middle of a reply (after " + linesRead + " complete lines)");
            }
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int n = bytes.length;
                return n > 0 && bytes[n - 1] == '\r' ? Arrays.copyOf(bytes, n - 1) : bytes;
            }
            // Room for the line's bytes plus the LF still to come; a CR at the end is part of the CRLF.
            if (line.size() + 1 >= SmtpReplyParser.MAX_LINE_BYTES) {
                throw new MalformedReplyException("reply line longer than " + SmtpReplyParser.MAX_LINE_BYTES
                        + " bytes without an end of line (RFC 5321 §4.5.3.1.5)");
            }
            line.write(b);
        }
    }
}
