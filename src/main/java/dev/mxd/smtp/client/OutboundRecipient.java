package dev.mxd.smtp.client;

import dev.mxd.smtp.DsnNotify;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * One RCPT TO of a transaction, with its RFC 3461 DSN parameters (sent only to servers that
 * announce DSN).
 *
 * @param address the forward-path mailbox, without angle brackets: "user@example.org"
 * @param notifyOn NOTIFY= values; empty: no NOTIFY parameter (the server's default applies)
 * @param orcpt   the original recipient as an RFC 3461 §4.2 address, without its type
 * @param orcptType the address type of {@code orcpt}: "rfc822" nearly always (RFC 3461 §4.2
 *                allows others, such as "x400", which go on as they came)
 */
public record OutboundRecipient(String address, Set<DsnNotify> notifyOn, Optional<String> orcpt, String orcptType) {

    /** A recipient whose original recipient, if any, is an rfc822 address. */
    public OutboundRecipient(String address, Set<DsnNotify> notifyOn, Optional<String> orcpt) {
        this(address, notifyOn, orcpt, "rfc822");
    }

    public OutboundRecipient {
        if (orcptType.isEmpty()) {
            throw new IllegalArgumentException("an ORCPT address type cannot be empty");
        }
        OutboundEnvelope.checkPath(address, "recipient");
        if (address.isEmpty()) {
            throw new IllegalArgumentException("a recipient cannot be the null path <>");
        }
        notifyOn = notifyOn.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(notifyOn));
        if (notifyOn.contains(DsnNotify.NEVER) && notifyOn.size() > 1) {
            throw new IllegalArgumentException("NOTIFY=NEVER cannot be combined with other values (RFC 3461 §4.1): " + notifyOn);
        }
    }

    public static OutboundRecipient of(String address) {
        return new OutboundRecipient(address, Set.of(), Optional.empty());
    }

    /** True when the address has non-ASCII characters, which only an SMTPUTF8 server takes (RFC 6531 §3.3). */
    public boolean utf8() {
        return OutboundEnvelope.nonAscii(address);
    }
}
