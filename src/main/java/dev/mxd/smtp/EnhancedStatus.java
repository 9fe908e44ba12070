package dev.mxd.smtp;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An RFC 3463 enhanced mail system status code ("5.1.1"): class, subject, detail. Servers that
 * announce ENHANCEDSTATUSCODES put it at the start of each reply line (RFC 2034 §4).
 */
public record EnhancedStatus(int statusClass, int subject, int detail) {

    /** RFC 3463 §2: class is 2, 4 or 5; subject and detail are 1 to 3 digits. */
    private static final Pattern SYNTAX = Pattern.compile("([245])\\.(\\d{1,3})\\.(\\d{1,3})(?=\\s|$)");

    public EnhancedStatus {
        if (statusClass != 2 && statusClass != 4 && statusClass != 5) {
            throw new IllegalArgumentException("enhanced status class must be 2, 4 or 5, not " + statusClass);
        }
        if (subject < 0 || subject > 999 || detail < 0 || detail > 999) {
            throw new IllegalArgumentException("enhanced status subject and detail are 0 to 999");
        }
    }

    /**
     * The status at the start of a reply line's text, if there is one whose class matches the
     * reply code's first digit (RFC 2034 §4 requires they agree; a mismatch is ordinary text).
     */
    public static Optional<EnhancedStatus> atStartOf(String text, int replyCode) {
        Matcher m = SYNTAX.matcher(text);
        if (!m.lookingAt()) {
            return Optional.empty();
        }
        int statusClass = m.group(1).charAt(0) - '0';
        if (statusClass != replyCode / 100) {
            return Optional.empty();
        }
        return Optional.of(new EnhancedStatus(statusClass, Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))));
    }

    @Override
    public String toString() {
        return statusClass + "." + subject + "." + detail;
    }
}
