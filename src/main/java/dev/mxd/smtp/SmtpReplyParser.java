package dev.mxd.smtp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Assembles SMTP replies from lines (RFC 5321 §4.2): "250-first", "250-more", "250 last". Fed one
 * line at a time without its CRLF, it returns the reply when the last line arrives. It does no
 * I/O, so a blocking reader and a Netty decoder can share it. Not thread-safe: one per connection.
 *
 * <p>Liberal in what it takes (RFC 5321 §4.5.3.1): once a reply has begun, a line that does not
 * start with a code (an empty line, text) is more of its text; a code's middle digit is not
 * checked (571 is a 5yz). A reply that could make the client misread the server is refused: a
 * first line without a 2yz-5yz code, a code that changes inside the reply (a text line that
 * happens to start "500 " would otherwise end a 450 there and shift every pipelined reply after
 * it), more than {@link #MAX_TOTAL_LINES} lines. The text kept is bounded ({@link #MAX_LINES}
 * lines), whatever the server sends.
 */
public final class SmtpReplyParser {

    /**
     * The octets of a reply line kept, CRLF included. RFC 5321 §4.5.3.1.5 sets 512 octets for a
     * reply line but §4.5.3.1 asks receivers to be liberal; real servers send long EHLO and
     * rejection lines. A longer line is cut here by the reader, the rest of it skipped.
     */
    public static final int MAX_LINE_BYTES = 1000;

    /** Lines of one reply whose text is kept; a large EHLO reply has about twenty. */
    public static final int MAX_LINES = 100;

    /** Lines of one reply read at all: past this the peer is a runaway, not a server. */
    public static final int MAX_TOTAL_LINES = 10_000;

    private final int maxLines;
    private final List<String> lines = new ArrayList<>();
    private int code = -1;
    private int read;
    /** The reply being read takes the code of its last line, as Postfix reads replies ({@link #lastLineDecides}). */
    private boolean lastLineDecides;
    /** The first code of the last reply finished, when its lines had more than one ({@link #lastLineDecides}); else -1. */
    private int mixedFrom = -1;

    public SmtpReplyParser() {
        this(MAX_LINES);
    }

    public SmtpReplyParser(int maxLines) {
        if (maxLines < 1) {
            throw new IllegalArgumentException("maxLines must be at least 1");
        }
        this.maxLines = maxLines;
    }

    /** True while a multi-line reply has started and its last line has not come yet. */
    public boolean inProgress() {
        return code >= 0;
    }

    /**
     * Takes one line (without CR LF) and returns the finished reply after its last line.
     *
     * @throws MalformedReplyException for a first line that is not "NNN", "NNN text" or "NNN-text"
     *                                 with NNN 200-599, a code that changes inside the reply, or a
     *                                 reply of more than {@link #MAX_TOTAL_LINES} lines
     */
    public Optional<SmtpReply> line(byte[] line) throws MalformedReplyException {
        int lineCode = codeOf(line);
        if (lineCode < 0) {
            if (code < 0) {
                throw new MalformedReplyException(line.length >= 3 && Character.isDigit(line[0]) && Character.isDigit(line[1])
                        && Character.isDigit(line[2]) && line.length > 3
                        ? "reply line must continue with ' ' or '-' after the code (RFC 5321 §4.2): " + quote(line)
                        : line.length < 3 ? "reply line is shorter than a three-digit code: " + quote(line)
                        : "reply line does not start with a three-digit code 2yz-5yz (RFC 5321 §4.2): " + quote(line));
            }
            keep(line, 0); // inside a reply: more of its text
            return Optional.empty();
        }
        if (code >= 0 && lineCode != code && lastLineDecides) {
            // as Postfix: the line of the new code starts the reply over, so that its code, enhanced status and text
            // come from the lines that decide, not from an earlier line saying otherwise
            mixedFrom = mixedFrom < 0 ? code : mixedFrom;
            lines.clear();
        } else if (code >= 0 && lineCode != code) {
            // Not taken: a text line that happens to start "500 " inside a 450 reply would end it there and
            // make every later pipelined reply answer the wrong command.
            throw new MalformedReplyException("reply code changed from " + code + " to " + lineCode
                    + " inside one reply (RFC 5321 §4.2.1): " + quote(line));
        }
        code = lineCode;
        keep(line, Math.min(4, line.length));
        if (line.length > 3 && line[3] == '-') {
            return Optional.empty();
        }
        SmtpReply reply = SmtpReply.of(code, lines);
        lines.clear();
        code = -1;
        read = 0;
        lastLineDecides = false;
        return Optional.of(reply);
    }

    /**
     * The next reply may change its code from line to line, and takes the code of its last line, as Postfix reads
     * every reply: for the reply to a final dot, after which the connection is not used again (so no later reply
     * can be misread), where refusing it as malformed would leave the message "maybe delivered" and sent again at
     * every retry. {@link #mixedFrom} then says whether it did.
     */
    public void lastLineDecides() {
        lines.clear(); // a reply cut short before (its connection is not used again): nothing of it is carried over
        code = -1;
        read = 0;
        lastLineDecides = true;
        mixedFrom = -1;
    }

    /**
     * The first line's code of the last reply read after {@link #lastLineDecides}, when its lines had more than one
     * code (its text is then that of the lines from the last change on); empty when they had one.
     */
    public java.util.OptionalInt mixedFrom() {
        return mixedFrom < 0 ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(mixedFrom);
    }

    private void keep(byte[] line, int from) throws MalformedReplyException {
        if (++read > MAX_TOTAL_LINES) {
            throw new MalformedReplyException("reply has more than " + MAX_TOTAL_LINES + " lines");
        }
        if (lines.size() < maxLines) {
            lines.add(new String(line, from, line.length - from, StandardCharsets.UTF_8));
        }
    }

    /** The code of a line "NNN", "NNN text" or "NNN-text" with NNN 200-599; -1 for any other line. */
    private static int codeOf(byte[] line) {
        if (line.length < 3 || line.length > 3 && line[3] != ' ' && line[3] != '-') {
            return -1;
        }
        int value = 0;
        for (int i = 0; i < 3; i++) {
            int d = line[i] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            value = value * 10 + d;
        }
        return SmtpReply.validCode(value) ? value : -1;
    }

    /** The start of a bad line, printable, for error messages. */
    static String quote(byte[] line) {
        int n = Math.min(line.length, 80);
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < n; i++) {
            int b = line[i] & 0xff;
            if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
                sb.append((char) b);
            } else {
                sb.append(String.format("\\x%02x", b));
            }
        }
        return sb.append(line.length > n ? "...\"" : "\"").toString();
    }
}
