package dev.mxd.smtp;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * One SMTP reply (RFC 5321 §4.2), as mxd's server sends it and as its client reads it: a
 * three-digit code, the enhanced status code of RFC 3463 when the first line starts with one
 * (RFC 2034 §4), and the text of each line (after the code and its "-" or " "). The text is
 * kept as it goes on the wire, status code included, so one reply reads and writes the same.
 */
public record SmtpReply(int code, Optional<EnhancedStatus> enhancedStatus, List<String> lines) {

    public SmtpReply {
        if (!validCode(code)) {
            throw new IllegalArgumentException("SMTP reply code must be 2yz to 5yz (RFC 5321 §4.2), not " + code);
        }
        lines = List.copyOf(lines);
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("an SMTP reply has at least one line");
        }
    }

    /** A reply as read: its code and lines, with the enhanced status found on the first line. */
    public static SmtpReply of(int code, List<String> lines) {
        return new SmtpReply(code, lines.isEmpty() ? Optional.empty() : EnhancedStatus.atStartOf(lines.get(0), code), lines);
    }

    /** A reply to send, one line with an enhanced status code (ENHANCEDSTATUSCODES, RFC 2034). */
    public static SmtpReply of(int code, EnhancedStatus status, String text) {
        return of(code, status, List.of(text));
    }

    /** A reply to send whose every line starts with {@code status} (RFC 2034 §4). */
    public static SmtpReply of(int code, EnhancedStatus status, List<String> text) {
        String prefix = status + " ";
        List<String> lines = new java.util.ArrayList<>(text.size());
        for (String l : sendable(text)) {
            lines.add(fit(prefix + l));
        }
        return new SmtpReply(code, Optional.of(status), List.copyOf(lines));
    }

    /** A reply to send without an enhanced status code, where RFC 2034 §3 has none (greeting, EHLO, 354). */
    public static SmtpReply of(int code, String text) {
        return withoutStatus(code, List.of(text));
    }

    /** A multi-line reply to send without an enhanced status code (EHLO). */
    public static SmtpReply withoutStatus(int code, List<String> text) {
        return new SmtpReply(code, Optional.empty(), sendable(text).stream().map(SmtpReply::fit).toList());
    }

    /** The longest text of a reply line we send: 512 octets with the code, its separator and CRLF (RFC 5321 §4.5.3.1.5). */
    static final int MAX_TEXT_OCTETS = 512 - 4 - 2;

    /** {@code text} cut, with "...", to {@link #MAX_TEXT_OCTETS} in UTF-8: a reply quoting a long argument of the client's. */
    private static String fit(String text) {
        if (text.length() * 3 <= MAX_TEXT_OCTETS || Utf8Text.fitting(text, MAX_TEXT_OCTETS) == text.length()) {
            return text;
        }
        return text.substring(0, Utf8Text.fitting(text, MAX_TEXT_OCTETS - 3)) + "...";
    }

    /**
     * The text as a reply line may carry it: RFC 5321 §4.2's textstring is TAB and printable ASCII only, so "§" is
     * written "section" and any other character past ASCII, or a control character (a client's argument quoted back),
     * becomes "?". CR and LF are refused: a line of our own text never holds them.
     */
    private static List<String> sendable(List<String> text) {
        List<String> out = new java.util.ArrayList<>(text.size());
        for (String l : text) {
            if (l.indexOf('\r') >= 0 || l.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("reply text must not contain CR or LF: " + l);
            }
            out.add(l.chars().allMatch(c -> c == '\t' || c >= 32 && c <= 126) ? l : ascii(l));
        }
        return out;
    }

    /**
     * {@code l} in printable ASCII and TAB: "§" as "section", any other character past ASCII, and a control
     * character, as "?" (a reply line's textstring; a delivery report's text that is not global).
     */
    public static String ascii(String l) {
        StringBuilder b = new StringBuilder(l.length() + 8);
        for (int i = 0; i < l.length(); i++) {
            char c = l.charAt(i);
            if (c == '\u00a7') {
                b.append("section ");
                while (i + 1 < l.length() && l.charAt(i + 1) == ' ') {
                    i++; // "§ 4.2" as "section 4.2"
                }
            } else if (Character.isHighSurrogate(c) && i + 1 < l.length() && Character.isLowSurrogate(l.charAt(i + 1))) {
                b.append('?'); // one character, two chars
                i++;
            } else {
                b.append(c == '\t' || c >= 32 && c <= 126 ? c : '?');
            }
        }
        return b.toString();
    }

    /**
     * RFC 5321 §4.2: first digit 2 to 5 (1yz is unused in SMTP). The middle digit is not checked
     * (RFC 5321 gives it 0 to 5): a server's 571 is a 5yz, as Postfix reads it.
     */
    public static boolean validCode(int code) {
        return code >= 200 && code <= 599;
    }

    /** 2yz: the command was accepted. */
    public boolean positive() {
        return code / 100 == 2;
    }

    /** 4yz: rejected for now; the same command may succeed later. */
    public boolean transientFailure() {
        return code / 100 == 4;
    }

    /** 5yz: rejected; repeating the command will not help. */
    public boolean permanentFailure() {
        return code / 100 == 5;
    }

    public String firstLine() {
        return lines.get(0);
    }

    /** The reply as one line for people and logs: "250 first line" (further lines left out). */
    public String summary() {
        String first = firstLine();
        return first.isEmpty() ? String.valueOf(code) : code + " " + first;
    }

    /** The reply as it appears on the wire, without the final CRLF: "250-a\r\n250 b". */
    public String toWire() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            if (i > 0) {
                sb.append("\r\n");
            }
            sb.append(code).append(i == lines.size() - 1 ? ' ' : '-').append(lines.get(i));
        }
        return sb.toString();
    }

    /** The bytes to send: "code-" on every line but the last, "code " on the last, each ending CRLF (RFC 5321 §4.2.1). */
    public byte[] encode() {
        return (toWire() + "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return toWire().replace("\r\n", " | ");
    }
}
