package dev.mxd.smtp.client;

import dev.mxd.smtp.DsnReturn;
import java.util.List;
import java.util.Optional;

/**
 * One mail transaction to one server: the envelope of RFC 5321 §2.3.1 with the parameters that
 * go with MAIL FROM (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 3461 RET and ENVID), and
 * the content to stream after DATA.
 *
 * @param sender     the reverse-path without angle brackets; "" is the null path {@code <>} of bounces
 * @param recipients one or more, each sent as RCPT TO, in this order
 * @param eightBit   the content has 8-bit bytes and needs BODY=8BITMIME (RFC 6152)
 * @param smtputf8   the message was received with SMTPUTF8 (RFC 6531 §3.4), so it may have UTF-8
 *                   headers: sent with the parameter to a server that offers it; to one that does
 *                   not, the header section is read to decide ({@link AsciiTransaction})
 * @param ret        RFC 3461 §4.3 RET: what a bounce should carry
 * @param envid      RFC 3461 §4.4 ENVID: the sender's identifier for the transaction, unencoded
 * @param content    the message itself; its size is what SIZE= declares
 * @param requireTls RFC 8689 REQUIRETLS: sent with the parameter, and only to a server that offers it
 *                   (to one that does not, every recipient fails 5.7.30 unsent)
 */
public record OutboundEnvelope(String sender, List<OutboundRecipient> recipients, boolean eightBit, boolean smtputf8,
                       Optional<DsnReturn> ret, Optional<String> envid, MessageContent content, boolean requireTls) {

    /** A transaction without REQUIRETLS. */
    public OutboundEnvelope(String sender, List<OutboundRecipient> recipients, boolean eightBit, boolean smtputf8,
                            Optional<DsnReturn> ret, Optional<String> envid, MessageContent content) {
        this(sender, recipients, eightBit, smtputf8, ret, envid, content, false);
    }

    public OutboundEnvelope {
        checkPath(sender, "sender");
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("a mail transaction needs at least one recipient");
        }
        if (envid.isPresent() && envid.get().chars().anyMatch(c -> c < 0x20 || c > 0x7e)) {
            throw new IllegalArgumentException("ENVID must be printable ASCII (RFC 3461 §4.4): '" + envid.get() + "'");
        }
    }

    /** A plain transaction: no DSN parameters, 7-bit, ASCII. */
    public static OutboundEnvelope of(String sender, List<OutboundRecipient> recipients, MessageContent content) {
        return new OutboundEnvelope(sender, recipients, false, false, Optional.empty(), Optional.empty(), content);
    }

    public OutboundEnvelope withEightBit(boolean value) {
        return new OutboundEnvelope(sender, recipients, value, smtputf8, ret, envid, content, requireTls);
    }

    public OutboundEnvelope withDsn(Optional<DsnReturn> r, Optional<String> id) {
        return new OutboundEnvelope(sender, recipients, eightBit, smtputf8, r, id, content, requireTls);
    }

    /** The same transaction for other recipients: the rest of a 452-split transaction, for instance. */
    public OutboundEnvelope withRecipients(List<OutboundRecipient> others) {
        return new OutboundEnvelope(sender, others, eightBit, smtputf8, ret, envid, content, requireTls);
    }

    /** The same transaction with other content: the 7-bit form of 8-bit content, for instance. */
    public OutboundEnvelope withContent(MessageContent other) {
        return new OutboundEnvelope(sender, recipients, eightBit, smtputf8, ret, envid, other, requireTls);
    }

    /** The same transaction with REQUIRETLS set to {@code value}. */
    public OutboundEnvelope withRequireTls(boolean value) {
        return new OutboundEnvelope(sender, recipients, eightBit, smtputf8, ret, envid, content, value);
    }

    /**
     * True when the message goes with the SMTPUTF8 parameter where it is offered: received with it,
     * or an address that is not ASCII (RFC 6531 §3.4). Where it is not offered, {@link AsciiTransaction}
     * decides whether it really needs it.
     */
    public boolean needsSmtputf8() {
        return smtputf8 || nonAscii(sender) || recipients.stream().anyMatch(OutboundRecipient::utf8);
    }

    static boolean nonAscii(String s) {
        return s.chars().anyMatch(c -> c > 0x7e);
    }

    /** Whether {@code path} can go into a MAIL or RCPT command as it is (see {@link #checkPath}). */
    public static boolean carriable(String path) {
        try {
            checkPath(path, "path");
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * Paths go into command lines: a control character (CR, LF) would end the command, and a space or
     * an angle bracket outside a quoted local part would change it. Inside one they are the address
     * ({@code "john smith"@example.org}, RFC 5321 §4.1.2), and go on as the client wrote them.
     */
    static void checkPath(String path, String what) {
        if (path == null) {
            throw new IllegalArgumentException(what + " must not be null; use \"\" for the null path <>");
        }
        if (path.chars().anyMatch(c -> c < ' ' || c == 0x7f)) {
            throw new IllegalArgumentException(what + " address must have no control characters: '" + path + "'");
        }
        int rest = 0;
        if (path.startsWith("\"")) {
            rest = -1;
            for (int i = 1; i < path.length(); i++) {
                char c = path.charAt(i);
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    rest = i + 1;
                    break;
                }
            }
            if (rest < 0) {
                throw new IllegalArgumentException(what + " address has a quoted local part without its closing quote: '" + path + "'");
            }
        }
        if (path.substring(rest).chars().anyMatch(c -> c == ' ' || c == '<' || c == '>')) {
            throw new IllegalArgumentException(what + " address must have no spaces or angle brackets outside a quoted local part: '"
                    + path + "'");
        }
    }
}
