package dev.mxd.dns;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A mail domain as given and in the A-label form DNS is asked for: IDNA to ASCII,
 * lowercase, no trailing dot (RFC 5321 §2.3.5, RFC 5890).
 */
public record MailDomain(String given, String ascii) {

    private static final Pattern LDH_LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");

    /** Parses a domain; throws {@link IllegalArgumentException} with a sentence saying what is wrong. */
    public static MailDomain parse(String given) {
        if (given == null || given.isBlank()) {
            throw new IllegalArgumentException("the domain is empty");
        }
        String text = given.strip();
        if (text.startsWith("[") || text.indexOf(':') >= 0) {
            throw new IllegalArgumentException("'" + given + "' is an address literal, not a domain");
        }
        if (text.endsWith(".")) {
            text = text.substring(0, text.length() - 1); // the root's empty label (Idna drops it after UTS #46's other full stops)
        }
        if (text.isEmpty() || text.startsWith(".") || text.contains("..")) {
            throw new IllegalArgumentException("'" + given + "' has an empty label");
        }
        String ascii;
        try {
            ascii = dev.mxd.smtp.Idna.toAscii(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + given + "' is not a valid internationalised domain name: " + e.getMessage());
        }
        if (ascii.length() > 253) {
            throw new IllegalArgumentException("'" + given + "' is longer than 253 characters in DNS form");
        }
        for (String label : ascii.split("\\.", -1)) {
            if (!LDH_LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException("'" + given + "' has an invalid label '" + label
                        + "' (letters, digits and inner hyphens, at most 63 characters)");
            }
        }
        return new MailDomain(given, ascii);
    }

    /** The ASCII form as a DNS host name without trailing dot, for comparisons with local names. */
    public static String normalizeHost(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    @Override
    public String toString() {
        return ascii;
    }
}
