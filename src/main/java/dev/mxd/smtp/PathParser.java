package dev.mxd.smtp;

import java.util.Optional;
import org.xbill.DNS.Address;

/**
 * A cursor over one command's argument text that reads the path grammar of RFC 5321 §4.1.2
 * with the UTF-8 additions of RFC 6531 §3.3. Errors are {@link IllegalArgumentException}s
 * whose message becomes the text of a 501 reply.
 */
public final class PathParser {

    private final String s;
    private int i;

    PathParser(String s, int start) {
        this.s = s;
        this.i = start;
    }

    int position() {
        return i;
    }

    boolean atEnd() {
        return i >= s.length();
    }

    /** Reverse-path = Path / "<>"; empty means the null sender (RFC 5321 §4.5.5). */
    Optional<Mailbox> reversePath() {
        if (s.startsWith("<>", i)) {
            i += 2;
            return Optional.empty();
        }
        return Optional.of(path());
    }

    /**
     * The argument of EHLO or HELO, all of it: a Domain or an address literal (RFC 5321 §4.1.1.1).
     * Two things real clients send are let through: an underscore in a label (Windows host names),
     * as in a path's domain, and a final dot. A name with U-labels must have an A-label form
     * (RFC 5890), which the Received field then shows. No control character, space or other
     * character outside the grammar passes: the name is echoed, logged and written into a header.
     */
    String helloName() {
        String name;
        if (peek() == '[') {
            name = addressLiteral();
        } else {
            name = domain(true);
            if (peek() == '.' && i == s.length() - 1) {
                i++;
                name += ".";
            }
            if (!name.chars().allMatch(c -> c < 0x80) && Mailbox.asciiDomain(name).isEmpty()) {
                throw new IllegalArgumentException("host name '" + name + "' has no IDNA A-label form (RFC 5890)");
            }
        }
        if (!atEnd()) {
            throw new IllegalArgumentException("invalid host name at '" + rest() + "'; send your host name or an address literal");
        }
        return name;
    }

    /**
     * Path = "<" [ A-d-l ":" ] Mailbox ">"; the source route is read and ignored (RFC 5321 §4.1.1.3, Appendix C).
     * A mailbox without the angle brackets ({@code MAIL FROM:user@example.org}, as some printers and
     * scripts send) is taken too when nothing but a space or the end follows it, as Postfix takes it
     * by default ({@code strict_rfc821_envelopes = no}) and Exim does.
     */
    Mailbox path() {
        if (peek() != '<') {
            int start = i;
            Mailbox bare;
            try {
                bare = mailbox();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("expected an address in angle brackets, like <user@example.org>, at '"
                        + (start < s.length() ? s.substring(start) : "end of line") + "'");
            }
            if (!atEnd() && peek() != ' ') {
                throw new IllegalArgumentException("expected an address in angle brackets, like <user@example.org>");
            }
            return bare;
        }
        expect('<', "an address in angle brackets, like <user@example.org>");
        if (peek() == '@') {
            while (peek() == '@') {
                i++;
                domain();
                if (peek() == ',') {
                    i++;
                }
            }
            expect(':', "':' after the source route");
        }
        Mailbox m = mailbox();
        expect('>', "'>' after the address");
        return m;
    }

    Mailbox mailbox() {
        String local = peek() == '"' ? quotedString() : dotString();
        expect('@', "'@' and a domain after the local part");
        String domain;
        if (peek() == '[') {
            domain = addressLiteral();
        } else {
            domain = domain();
            if (peek() == '.' && finalDot()) {
                i++; // "user@example.org.": the root's dot, dropped as Postfix's trivial-rewrite drops it
            }
            // RFC 6531 §3.3: U-labels must be valid (RFC 5890); one that has no A-label form (a Unicode space, a label
            // too long once encoded) names no domain, and would have been looked up as one name and filed as another.
            if (!domain.chars().allMatch(c -> c < 0x80) && Mailbox.asciiDomain(domain).isEmpty()) {
                throw new IllegalArgumentException("domain '" + domain + "' is not a valid internationalized domain name"
                        + " (it has no IDNA A-label form, RFC 5890)");
            }
        }
        return new Mailbox(local, domain);
    }

    /**
     * Dot-string (RFC 5321 §4.1.2), read as Postfix reads it by default: atoms and dots in any
     * order, so "john.@docomo.ne.jp" and "a..b@example.org", which real senders use, are taken;
     * {@link Mailbox#toString()} quotes such a local part when it goes on. At least one atom
     * character; no length limit but the command line's (RFC 5321 §4.5.3.1 asks servers not to
     * limit lengths where they can avoid it: SRS and VERP local parts pass 64 octets).
     */
    private String dotString() {
        int start = i;
        boolean atext = false;
        while (!atEnd() && (s.charAt(i) == '.' || isAtext(s.charAt(i)))) {
            atext |= s.charAt(i) != '.';
            i++;
        }
        if (!atext) {
            throw new IllegalArgumentException("invalid local part at '" + (start < s.length() ? s.substring(start) : "end of line") + "'");
        }
        return s.substring(start, i);
    }

    private String quotedString() {
        i++; // opening DQUOTE
        StringBuilder b = new StringBuilder();
        while (true) {
            if (atEnd()) {
                throw new IllegalArgumentException("unterminated quoted local part");
            }
            char c = s.charAt(i++);
            if (c == '"') {
                break;
            }
            if (c == '\\') {
                if (atEnd() || s.charAt(i) < 32 || s.charAt(i) > 126) {
                    throw new IllegalArgumentException("bad quoted-pair in local part");
                }
                b.append(s.charAt(i++));
            } else if ((c >= 32 && c <= 126) || isUtf8NonAscii(c)) { // qtextSMTP, SP, and UTF8-non-ascii (RFC 6531)
                b.append(c);
            } else {
                throw new IllegalArgumentException("control character in quoted local part");
            }
        }
        return b.toString(); // "" too: Quoted-string = DQUOTE *QcontentSMTP DQUOTE (RFC 5321 §4.1.2), as Postfix takes it
    }

    /** Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str], or U-label (RFC 6531). */
    private String domain() {
        return domain(false);
    }

    /** A domain; {@code hello}: an EHLO name, which may end in a dot ({@link #helloName}). */
    private String domain(boolean hello) {
        int start = i;
        do {
            if (i > start) {
                i++; // the dot
            }
            int label = i;
            // '_' is no LDH character, but real host names have it (Windows hosts, internal mail domains); Postfix's
            // smtpd takes it in addresses as in EHLO names, so mxd does too
            while (!atEnd() && (isLetDig(s.charAt(i)) || s.charAt(i) == '-' || s.charAt(i) == '_' || isUtf8NonAscii(s.charAt(i)))) {
                i++;
            }
            if (i == label || s.charAt(label) == '-' || s.charAt(i - 1) == '-' || i - label > 63) {
                throw new IllegalArgumentException("invalid domain at '" + s.substring(start) + "'");
            }
        } while (peek() == '.' && !(hello && i == s.length() - 1) && !(!hello && finalDot()));
        if (i - start > 255) {
            throw new IllegalArgumentException("domain longer than 255 octets (RFC 5321 §4.5.3.1.2)");
        }
        return s.substring(start, i);
    }

    /** The dot at the cursor ends a path's domain: '>', a space or the end follows it. */
    private boolean finalDot() {
        return i + 1 == s.length() || s.charAt(i + 1) == '>' || s.charAt(i + 1) == ' ';
    }

    /** address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General-address-literal ) "]" (RFC 5321 §4.1.3). */
    private String addressLiteral() {
        int close = s.indexOf(']', i);
        if (close < 0) {
            throw new IllegalArgumentException("address literal without ']'");
        }
        String inner = s.substring(i + 1, close);
        if (inner.length() + 2 > 255) {
            // a literal is a domain as far as length goes; it goes into the Received field's first line, whose 998 octets a
            // 2,000-octet literal (a general one takes any dcontent) would break
            throw new IllegalArgumentException("address literal longer than 255 octets (RFC 5321 §4.5.3.1.2)");
        }
        boolean valid;
        if (inner.regionMatches(true, 0, "IPv6:", 0, 5)) {
            valid = ipv6(inner.substring(5));
        } else if (inner.matches("[0-9.]+")) {
            valid = ipv4(inner);
        } else {
            // General-address-literal = Standardized-tag ":" 1*dcontent
            valid = inner.matches("[A-Za-z0-9-]*[A-Za-z0-9]:[\\x21-\\x5a\\x5e-\\x7e]+");
        }
        if (!valid) {
            throw new IllegalArgumentException("invalid address literal [" + inner + "]");
        }
        i = close + 1;
        return "[" + inner + "]";
    }

    /**
     * Snum 3("." Snum), each at most 255 (RFC 5321 §4.1.3), checked here: a text such as
     * {@code 999.0.0.1} given to {@code InetAddress.getByName} would be looked up as a host name,
     * a DNS query on the event loop that the client chose.
     */
    static boolean ipv4(String text) {
        return ipv4Address(text).isPresent();
    }

    /**
     * The IPv4 address {@code text} writes as Snum 3("." Snum), each number decimal (leading zeros too) and at most
     * 255; empty for anything else, never a DNS question and never BSD's short forms ({@code 10} for 0.0.0.10),
     * which {@code InetAddress.getByName} reads.
     */
    public static java.util.Optional<java.net.InetAddress> ipv4Address(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return java.util.Optional.empty();
        }
        byte[] octets = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9') || Integer.parseInt(p) > 255) {
                return java.util.Optional.empty();
            }
            octets[i] = (byte) Integer.parseInt(p);
        }
        try {
            return java.util.Optional.of(java.net.InetAddress.getByAddress(octets));
        } catch (java.net.UnknownHostException impossible) { // only for a wrong length
            throw new AssertionError(impossible);
        }
    }

    /**
     * The IP address an address literal names ({@code [192.0.2.1]}, {@code [IPv6:2001:db8::1]}, the tag in any case),
     * never by DNS; empty for a General-address-literal or a text that is no address.
     */
    public static java.util.Optional<java.net.InetAddress> literalAddress(String literal) {
        if (literal.length() < 2 || literal.charAt(0) != '[' || literal.charAt(literal.length() - 1) != ']') {
            return java.util.Optional.empty();
        }
        String inner = literal.substring(1, literal.length() - 1);
        if (!inner.regionMatches(true, 0, "IPv6:", 0, 5)) {
            return ipv4Address(inner);
        }
        String ip = inner.substring(5);
        if (!ipv6(ip)) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(java.net.InetAddress.getByAddress(Address.toByteArray(ip, Address.IPv6)));
        } catch (java.net.UnknownHostException impossible) { // only for a wrong length
            throw new AssertionError(impossible);
        }
    }

    /** IPv6-addr of RFC 5321 §4.1.3, parsed as text (dnsjava's parser): no name lookup whatever the text. */
    private static boolean ipv6(String text) {
        if (!text.matches("[0-9A-Fa-f:.]+") || text.indexOf(':') < 0) {
            return false;
        }
        int lastColon = text.lastIndexOf(':');
        if (text.indexOf('.') >= 0 && (text.indexOf('.') < lastColon || !ipv4(text.substring(lastColon + 1)))) {
            return false; // only an IPv4 tail (RFC 5321 IPv6v4-full/comp), a valid dotted quad
        }
        return Address.toByteArray(text, Address.IPv6) != null;
    }

    private void expect(char c, String what) {
        if (peek() != c) {
            throw new IllegalArgumentException("expected " + what + " at '" + rest() + "'");
        }
        i++;
    }

    private char peek() {
        return atEnd() ? '\0' : s.charAt(i);
    }

    private String rest() {
        return atEnd() ? "end of line" : s.substring(i);
    }

    private static boolean isLetDig(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    /** atext (RFC 5322 §3.2.3) plus UTF8-non-ascii (RFC 6531 §3.3). */
    static boolean isAtext(char c) {
        return isLetDig(c) || Mailbox.ATEXT_SYMBOLS.indexOf(c) >= 0 || isUtf8NonAscii(c);
    }

    /**
     * A non-ASCII character an address or host name may hold (RFC 6531 §3.3): not a C1 control
     * (U+0080-U+009F) nor a line or paragraph separator, which would break a log line or a header.
     */
    static boolean isUtf8NonAscii(char c) {
        return c >= 0xa0 && c != '\u2028' && c != '\u2029';
    }

    static boolean isDotString(String s) {
        if (s.isEmpty() || s.startsWith(".") || s.endsWith(".") || s.contains("..")) {
            return false;
        }
        for (int k = 0; k < s.length(); k++) {
            if (s.charAt(k) != '.' && !isAtext(s.charAt(k))) {
                return false;
            }
        }
        return true;
    }
}
