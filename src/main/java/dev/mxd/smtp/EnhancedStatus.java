package dev.mxd.smtp;

import java.util.Optional;

/**
 * An RFC 3463 enhanced mail system status code ("5.1.1"): class, subject, detail. Servers that
 * announce ENHANCEDSTATUSCODES put it at the start of each reply line (RFC 2034 §4).
 *
 * <p>The constants below are the one table of codes mxd gives itself, in its replies, its
 * delivery results and its notices; no other place spells a code as text.
 */
public record EnhancedStatus(int statusClass, int subject, int detail) {

    // Success (class 2).
    /** 2.0.0: done, nothing more to say. */
    public static final EnhancedStatus OK = new EnhancedStatus(2, 0, 0);
    /** 2.1.0: the sender address is fine (X.1.0, other address status). */
    public static final EnhancedStatus SENDER_OK = new EnhancedStatus(2, 1, 0);
    /** 2.1.5: the destination address is valid. */
    public static final EnhancedStatus RECIPIENT_OK = new EnhancedStatus(2, 1, 5);
    /** 2.5.0: other protocol status (VRFY that cannot verify but will deliver). */
    public static final EnhancedStatus PROTOCOL_OK = new EnhancedStatus(2, 5, 0);

    // Transient failures (class 4).
    /** 4.0.0: a temporary failure with nothing more specific to say. */
    public static final EnhancedStatus TEMPORARY_FAILURE = new EnhancedStatus(4, 0, 0);
    /** 4.3.0: other mail system status: trouble on this host (a file it cannot read or write). */
    public static final EnhancedStatus LOCAL_ERROR = new EnhancedStatus(4, 3, 0);
    /** 4.1.1: the recipient cannot be verified now (a backup MX whose primary did not answer its callout). */
    public static final EnhancedStatus MAILBOX_UNVERIFIED = new EnhancedStatus(4, 1, 1);
    /** 4.3.1: mail system full (no room to store the message). */
    public static final EnhancedStatus SYSTEM_FULL = new EnhancedStatus(4, 3, 1);
    /** 4.3.2: the system is not accepting network messages (shutting down). */
    public static final EnhancedStatus NOT_ACCEPTING = new EnhancedStatus(4, 3, 2);
    /** 4.4.1: no answer from the host (no MX host took the message). */
    public static final EnhancedStatus NO_ANSWER = new EnhancedStatus(4, 4, 1);
    /** 4.4.2: bad connection (lost, timed out, or closed to make room). */
    public static final EnhancedStatus BAD_CONNECTION = new EnhancedStatus(4, 4, 2);
    /** 4.4.5: system congestion (too busy to take the message in time). */
    public static final EnhancedStatus CONGESTION = new EnhancedStatus(4, 4, 5);
    /** 4.4.3: directory server failure (DNS did not answer). */
    public static final EnhancedStatus DNS_FAILURE = new EnhancedStatus(4, 4, 3);
    /** 4.4.4: unable to route (no usable exchanger now). */
    public static final EnhancedStatus UNABLE_TO_ROUTE = new EnhancedStatus(4, 4, 4);
    /** 4.4.6: a routing loop for now (a server that greets with this host's own name: this host behind another address). */
    public static final EnhancedStatus LOOP_FOR_NOW = new EnhancedStatus(4, 4, 6);
    /** 4.4.7: delivery time expired (the message stayed too long in the queue). */
    public static final EnhancedStatus EXPIRED = new EnhancedStatus(4, 4, 7);
    /** 4.5.3: too many recipients for this transaction. */
    public static final EnhancedStatus TOO_MANY_RECIPIENTS = new EnhancedStatus(4, 5, 3);
    /** 5.5.3: the same, as older servers say it with 552 (RFC 5321 §4.5.3.1.10 asks clients to treat it as temporary). */
    public static final EnhancedStatus TOO_MANY_RECIPIENTS_PERMANENT = new EnhancedStatus(5, 5, 3);
    /** 4.7.0: other security status (connection limits, too many errors). */
    public static final EnhancedStatus SECURITY_TEMPORARY = new EnhancedStatus(4, 7, 0);
    /** 4.7.1: not accepted for now by policy (a filter could not decide). */
    public static final EnhancedStatus NOT_AUTHORIZED_TEMPORARY = new EnhancedStatus(4, 7, 1);
    /** 4.7.5: the server's certificate does not authenticate it as its DANE or MTA-STS policy requires (RFC 7672 §2.2, RFC 8461). */
    public static final EnhancedStatus CRYPTOGRAPHIC_FAILURE = new EnhancedStatus(4, 7, 5);

    // Permanent failures (class 5).
    /** 5.0.0: a permanent failure with nothing more specific to say. */
    public static final EnhancedStatus PERMANENT_FAILURE = new EnhancedStatus(5, 0, 0);
    /** 5.1.1: bad destination mailbox address (no such user). */
    public static final EnhancedStatus BAD_MAILBOX = new EnhancedStatus(5, 1, 1);
    /** 5.1.2: bad destination system address (the domain cannot receive mail). */
    public static final EnhancedStatus BAD_SYSTEM = new EnhancedStatus(5, 1, 2);
    /** 5.1.3: bad destination mailbox address syntax. */
    public static final EnhancedStatus BAD_DESTINATION_SYNTAX = new EnhancedStatus(5, 1, 3);
    /** 5.1.7: bad sender's mailbox address syntax. */
    public static final EnhancedStatus BAD_SENDER_SYNTAX = new EnhancedStatus(5, 1, 7);
    /** 5.1.10: the recipient's domain publishes a null MX (RFC 7505). */
    public static final EnhancedStatus NULL_MX = new EnhancedStatus(5, 1, 10);
    /** 5.3.4: message too big for the system. */
    public static final EnhancedStatus TOO_BIG = new EnhancedStatus(5, 3, 4);
    /** 4.2.2 mailbox full (RFC 3463 §3.3), for now: over the disk quota of the user mailboxes are written as. */
    public static final EnhancedStatus MAILBOX_FULL = new EnhancedStatus(4, 2, 2);
    /** 5.4.6: routing loop detected (too many hops, or the best MX is this host). */
    public static final EnhancedStatus ROUTING_LOOP = new EnhancedStatus(5, 4, 6);
    /** 5.5.1: invalid command (bad sequence, protocol error). */
    public static final EnhancedStatus INVALID_COMMAND = new EnhancedStatus(5, 5, 1);
    /** 5.5.0: a protocol error, such as text sent before the reply to DATA (Postfix's "SMTP protocol synchronization"). */
    public static final EnhancedStatus PROTOCOL_ERROR = new EnhancedStatus(5, 5, 0);
    /** 5.5.2: syntax error (command not recognized, bare line ending). */
    public static final EnhancedStatus SYNTAX_ERROR = new EnhancedStatus(5, 5, 2);
    /** 5.5.6: a command line too long (RFC 3463's registry: RFC 4954 named it for an authentication line too long). */
    public static final EnhancedStatus LINE_TOO_LONG = new EnhancedStatus(5, 5, 6);
    /** 5.5.4: invalid command arguments. */
    public static final EnhancedStatus INVALID_ARGUMENTS = new EnhancedStatus(5, 5, 4);
    /**
     * 5.6.0 (RFC 3463: other or undefined media error): the message's content is refused as a whole (a line of it
     * longer than limits.max-data-line-length).
     */
    public static final EnhancedStatus CONTENT_REFUSED = new EnhancedStatus(5, 6, 0);
    /** 5.6.7: a non-ASCII address without SMTPUTF8 (RFC 6531). */
    public static final EnhancedStatus NEEDS_SMTPUTF8 = new EnhancedStatus(5, 6, 7);
    /** 5.7.1: delivery not authorized, message refused (relay denied, virus, spam). */
    public static final EnhancedStatus NOT_AUTHORIZED = new EnhancedStatus(5, 7, 1);
    /**
     * 5.7.10: encryption needed (RFC 5248 registry; RFC 8689 §4.2.1, §5): a REQUIRETLS message that no
     * next hop can take over TLS authenticated by DANE or MTA-STS after a secure MX lookup, and a
     * REQUIRETLS MAIL FROM outside TLS.
     */
    public static final EnhancedStatus ENCRYPTION_NEEDED = new EnhancedStatus(5, 7, 10);
    /** 5.7.30: REQUIRETLS support required (RFC 8689 §7.3): no next hop offers REQUIRETLS. */
    public static final EnhancedStatus REQUIRETLS_NEEDED = new EnhancedStatus(5, 7, 30);

    /** RFC 3463 §2: class is 2, 4 or 5; subject and detail are 1 to 3 digits. */

    public EnhancedStatus {
        if (statusClass != 2 && statusClass != 4 && statusClass != 5) {
            throw new IllegalArgumentException("enhanced status class must be 2, 4 or 5, not " + statusClass);
        }
        if (subject < 0 || subject > 999 || detail < 0 || detail > 999) {
            throw new IllegalArgumentException("enhanced status subject and detail are 0 to 999");
        }
    }

    /**
     * The "other or undefined" status X.0.0 of a reply code's class (RFC 3463 §3.1): 2.0.0, 4.0.0 or
     * 5.0.0, for a reply that came without an enhanced status code.
     */
    public static EnhancedStatus otherOfClass(int replyCode) {
        return switch (replyCode / 100) {
            case 2 -> OK;
            case 4 -> TEMPORARY_FAILURE;
            case 5 -> PERMANENT_FAILURE;
            default -> throw new IllegalArgumentException("reply code " + replyCode + " has no enhanced status class");
        };
    }

    /**
     * The status at the start of a reply line's text, if there is one whose class matches the
     * reply code's first digit (RFC 2034 §4 requires they agree; a mismatch is ordinary text).
     */
    public static Optional<EnhancedStatus> atStartOf(String text, int replyCode) {
        EnhancedStatus s = scan(text, false);
        return s == null || s.statusClass != replyCode / 100 ? Optional.empty() : Optional.of(s);
    }

    /** A code written as text ("5.1.1", as {@link #toString()} gives it), or empty if it is not one. */
    public static Optional<EnhancedStatus> parse(String text) {
        return Optional.ofNullable(scan(text, true));
    }

    /**
     * The code {@code class "." 1*3digit "." 1*3digit} at the start of {@code text}, followed by
     * white space or the end ({@code whole}: by the end only), as {@code (?=\s|$)} has it; null if there is none. Read by hand,
     * not by a regular expression: every reply a delivery reads goes through here.
     */
    private static EnhancedStatus scan(String text, boolean whole) {
        int n = text.length();
        if (n < 5 || text.charAt(1) != '.') {
            return null;
        }
        char c = text.charAt(0);
        if (c != '2' && c != '4' && c != '5') {
            return null;
        }
        int subjectEnd = digits(text, 2);
        if (subjectEnd < 0 || subjectEnd >= n || text.charAt(subjectEnd) != '.') {
            return null;
        }
        int detailEnd = digits(text, subjectEnd + 1);
        if (detailEnd < 0 || detailEnd < n && (whole || !space(text.charAt(detailEnd)) && !lastLineEnd(text, detailEnd))) {
            return null;
        }
        return new EnhancedStatus(c - '0', Integer.parseInt(text, 2, subjectEnd, 10), Integer.parseInt(text, subjectEnd + 1, detailEnd, 10));
    }

    /** Where one to three ASCII digits from {@code at} end (a fourth digit makes none), or -1. */
    private static int digits(String text, int at) {
        int i = at;
        while (i < text.length() && i < at + 4 && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
            i++;
        }
        return i == at || i == at + 4 ? -1 : i;
    }

    /**
     * A line end a regular expression's {@code $} stops before when it is the text's last character:
     * NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR (CR and LF are white space already).
     */
    private static boolean lastLineEnd(String text, int at) {
        char c = text.charAt(at);
        return at == text.length() - 1 && (c == '\u0085' || c == '\u2028' || c == '\u2029');
    }

    /** What {@code \s} matches in a Java regular expression: space, tab, newline, vertical tab, form feed, carriage return. */
    private static boolean space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    /** 2.x.x. */
    public boolean success() {
        return statusClass == 2;
    }

    /** 5.x.x: retrying cannot help. */
    public boolean permanent() {
        return statusClass == 5;
    }

    @Override
    public String toString() {
        return statusClass + "." + subject + "." + detail;
    }
}
