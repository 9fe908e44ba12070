package dev.mxd.smtp;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A reply the server sends: a three-digit code (RFC 5321 §4.2), an enhanced status code
 * (RFC 3463, advertised by ENHANCEDSTATUSCODES, RFC 2034) that prefixes every line when
 * present, and one or more text lines.
 *
 * @param code     the reply code, 200..599
 * @param status   the enhanced status code such as "5.1.1", or "" where RFC 2034 has none (greeting, EHLO)
 * @param lines    the text lines, at least one
 */
public record ServerReply(int code, String status, List<String> lines) {

    public ServerReply {
        if (code < 200 || code > 599) {
            throw new IllegalArgumentException("reply code " + code + " is outside 200..599");
        }
        lines = List.copyOf(lines);
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("a reply needs at least one line");
        }
        for (String l : lines) {
            if (l.indexOf('\r') >= 0 || l.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("reply text must not contain CR or LF: " + l);
            }
        }
    }

    public static ServerReply of(int code, String status, String text) {
        return new ServerReply(code, status, List.of(text));
    }

    /** A one-line reply with an enhanced status code. */
    public static ServerReply of(int code, EnhancedStatus status, String text) {
        return new ServerReply(code, status.toString(), List.of(text));
    }

    /** A one-line reply without an enhanced status code (greeting, EHLO, 354). */
    public static ServerReply of(int code, String text) {
        return new ServerReply(code, "", List.of(text));
    }

    public boolean isPositive() {
        return code < 400;
    }

    /** 4xx: the client may try again later. */
    public boolean isTransient() {
        return code >= 400 && code < 500;
    }

    /** The first text line with its codes, for logs. */
    public String summary() {
        return code + (status.isEmpty() ? "" : " " + status) + " " + lines.get(0);
    }

    /** The wire form: "code-" on every line but the last, "code " on the last (RFC 5321 §4.2.1). */
    public byte[] encode() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            b.append(code).append(i == lines.size() - 1 ? ' ' : '-');
            if (!status.isEmpty()) {
                b.append(status).append(' ');
            }
            b.append(lines.get(i)).append("\r\n");
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }
}
