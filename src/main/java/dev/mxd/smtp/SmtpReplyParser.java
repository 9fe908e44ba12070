package dev.mxd.smtp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Assembles SMTP replies from lines (RFC 5321 §4.2): "250-first", "250-more", "250 last". Fed one
 * line at a time without its CRLF, it returns the reply when the last line arrives. It does no
 * I/O, so a blocking reader and a Netty decoder can share it. Not thread-safe: one per connection.
 */
public final class SmtpReplyParser {

    /**
     * Longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 sets 512 octets for a reply
     * line but §4.5.3.1 asks receivers to be liberal; real servers send long EHLO and rejection
     * lines, so we allow the 1000 octets of a text line (§4.5.3.1.6) and no more.
     */
    public static final int MAX_LINE_BYTES = 1000;

    /** Most lines in one reply; a large EHLO reply has about twenty, so 100 only stops a runaway peer. */
    public static final int MAX_LINES = 100;

    private final int maxLines;
    private final List<String> lines = new ArrayList<>();
    private int code = -1;

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
     * @throws MalformedReplyException for a line that is not "NNN", "NNN text" or "NNN-text", a code
     *                                 that changes inside a reply, a line longer than
     *                                 {@link #MAX_LINE_BYTES} or a reply of more than maxLines lines
     */
    public Optional<SmtpReply> line(byte[] line) throws MalformedReplyException {
        if (line.length + 2 > MAX_LINE_BYTES) {
            throw new MalformedReplyException("reply line of " + (line.length + 2) + " bytes is longer than the "
                    + MAX_LINE_BYTES + " bytes allowed");
        }
        int lineCode = codeOf(line);
        boolean last = line.length == 3 || line[3] == ' ';
        if (!last && line[3] != '-') {
            throw new MalformedReplyException("reply line must continue with ' ' or '-' after the code (RFC 5321 §4.2): "
                    + quote(line));
        }
        if (code >= 0 && lineCode != code) {
            throw new MalformedReplyException("reply code changed from " + code + " to " + lineCode
                    + " inside one reply (RFC 5321 §4.2.1): " + quote(line));
        }
        if (lines.size() >= maxLines) {
            throw new MalformedReplyException("reply has more than " + maxLines + " lines");
        }
        code = lineCode;
        lines.add(line.length <= 4 ? "" : new String(line, 4, line.length - 4, StandardCharsets.UTF_8));
        if (!last) {
            return Optional.empty();
        }
        SmtpReply reply = SmtpReply.of(code, lines);
        lines.clear();
        code = -1;
        return Optional.of(reply);
    }

    private static int codeOf(byte[] line) throws MalformedReplyException {
        if (line.length < 3) {
            throw new MalformedReplyException("reply line is shorter than a three-digit code: " + quote(line));
        }
        int value = 0;
        for (int i = 0; i < 3; i++) {
            int d = line[i] - '0';
            if (d < 0 || d > 9) {
                throw new MalformedReplyException("reply line does not start with a three-digit code (RFC 5321 §4.2): "
                        + quote(line));
            }
            value = value * 10 + d;
        }
        if (!SmtpReply.validCode(value)) {
            throw new MalformedReplyException("reply code " + value + " is not 2yz-5yz with y 0-5 (RFC 5321 §4.2): "
                    + quote(line));
        }
        return value;
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
