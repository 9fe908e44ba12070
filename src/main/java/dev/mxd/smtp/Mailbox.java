package dev.mxd.smtp;

import java.util.Locale;
import java.util.Optional;

/**
 * An SMTP mailbox, {@code Local-part "@" ( Domain / address-literal )} (RFC 5321 §4.1.2), with
 * the UTF-8 extensions of RFC 6531 §3.3. The local part is kept as the client wrote it, unquoted:
 * its meaning belongs to the domain (RFC 5321 §2.4), and {@link #toString()} quotes it again
 * when needed.
 *
 * @param localPart the local part without surrounding quotes or quoted-pair backslashes
 * @param domain    a domain name as given, or an address literal with its brackets
 */
public record Mailbox(String localPart, String domain) {

    /** The symbols of atext (RFC 5322 §3.2.3): what a dot-atom local part may hold besides letters, digits and dots. */
    public static final String ATEXT_SYMBOLS = "!#$%&'*+-/=?^_`{|}~";

    public Mailbox {
        if (domain.isEmpty()) {
            throw new IllegalArgumentException("a mailbox needs a domain");
        }
        // An empty local part is the quoted "" (RFC 5321 §4.1.2 allows it); toString() writes it so.
    }

    /** Parses {@code local@domain} as written inside a path, with no angle brackets. */
    public static Mailbox parse(String text) {
        PathParser p = new PathParser(text, 0);
        Mailbox m = p.mailbox();
        if (!p.atEnd()) {
            throw new IllegalArgumentException("unexpected '" + text.substring(p.position()) + "' after the mailbox");
        }
        return m;
    }

    /** Whether the domain part is an address literal such as {@code [192.0.2.1]}. */
    public boolean isAddressLiteral() {
        return domain.startsWith("[");
    }

    /** Whether any part uses non-ASCII characters, which needs SMTPUTF8 (RFC 6531 §3.4). */
    public boolean isUtf8() {
        return !(localPart + domain).chars().allMatch(c -> c < 0x80);
    }

    /** The domain as a lookup key: lowercase A-labels; address literals lowercase as written. */
    public String domainKey() {
        if (isAddressLiteral()) {
            return domain.toLowerCase(Locale.ROOT);
        }
        String d = domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
        try {
            return Idna.toAscii(d);
        } catch (IllegalArgumentException e) {
            return d.toLowerCase(Locale.ROOT);
        }
    }

    /**
     * This mailbox with its domain in A-labels (RFC 5890 §2.3.2.1), for a server without SMTPUTF8
     * (RFC 6531 §3.2 lets a client convert the domain); itself when already ASCII; empty when the
     * local part is not ASCII or the domain has no faithful A-label form ({@link #asciiDomain}).
     */
    public Optional<Mailbox> toAscii() {
        if (!localPart.chars().allMatch(c -> c < 0x80)) {
            return Optional.empty();
        }
        return asciiDomain(domain).map(d -> d.equals(domain) ? this : new Mailbox(localPart, d));
    }

    /**
     * A domain in A-labels: itself when ASCII; else its IDNA2008 form ({@link Idna}: {@code faß} is
     * {@code xn--fa-hia}, never IDNA2003's {@code fass}); empty when it has none.
     */
    public static Optional<String> asciiDomain(String domain) {
        if (domain.chars().allMatch(c -> c < 0x80)) {
            return Optional.of(domain);
        }
        try {
            String aLabels = Idna.toAscii(domain);
            return aLabels.chars().allMatch(c -> c < 0x80) ? Optional.of(aLabels) : Optional.empty();
        } catch (IllegalArgumentException notIdna) {
            return Optional.empty();
        }
    }

    /** The local part as a mailbox key (mxd's mailbox names are case-insensitive). */
    public String localKey() {
        return localPart.toLowerCase(Locale.ROOT);
    }

    /** The address as it goes on the wire: the local part quoted when it is not a dot-string. */
    @Override
    public String toString() {
        return (PathParser.isDotString(localPart) ? localPart : quote(localPart)) + "@" + domain;
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.append('"').toString();
    }
}
