package dev.mxd.smtp;

/** How the message text after DATA ended (RFC 5321 §4.1.1.4). */
public sealed interface DataOutcome {

    /**
     * CRLF.CRLF arrived and the text is acceptable: all {@code size} octets of it, unstuffed and
     * ending with CRLF (or empty), went to the decoder's {@link TextSink}.
     */
    record Complete(long size) implements DataOutcome {}

    /** CRLF.CRLF arrived but the text was larger than the limit (RFC 1870 §6: 552). */
    record TooBig(long size) implements DataOutcome {}

    /** CRLF.CRLF arrived but a line was longer than the limit. */
    record LineTooLong(int limit) implements DataOutcome {}

    /**
     * CRLF.CRLF arrived but the header section has more Received fields than the limit: the message
     * has gone round in a loop (RFC 5321 §6.3).
     */
    record TooManyHops(int received, int limit) implements DataOutcome {}

    /**
     * A CR not followed by LF, or (unless bare LFs are normalized, {@link BareLf}) an LF not
     * preceded by CR. This is how SMTP smuggling hides a second message, so the text is rejected
     * at once and the connection must be closed (RFC 5321 §2.3.8; as Postfix smtpd_forbid_bare_newline).
     */
    record BareLineEnding(long offset) implements DataOutcome {}
}
