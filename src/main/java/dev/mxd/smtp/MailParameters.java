package dev.mxd.smtp;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * The ESMTP parameters of MAIL FROM that mxd implements.
 *
 * @param size     SIZE= the client's estimate (RFC 1870 §3)
 * @param body     BODY= 7BIT or 8BITMIME (RFC 6152)
 * @param smtputf8 SMTPUTF8 given (RFC 6531 §3.4)
 * @param ret      RET= FULL or HDRS: what a bounce should carry (RFC 3461 §4.3)
 * @param envid    ENVID= the sender's envelope identifier, xtext-decoded (RFC 3461 §4.4)
 * @param requireTls REQUIRETLS given (RFC 8689 §3): every onward hop must be TLS authenticated (DANE, MTA-STS,
 *                   or PKIX after a DNSSEC-secure MX lookup) and must itself offer REQUIRETLS, or the message is returned
 */
public record MailParameters(OptionalLong size, Body body, boolean smtputf8, Optional<DsnReturn> ret, Optional<String> envid,
                             boolean requireTls) {

    public static final MailParameters NONE = new MailParameters(OptionalLong.empty(), Body.SEVEN_BIT, false, Optional.empty(), Optional.empty());

    /** Parameters without REQUIRETLS. */
    public MailParameters(OptionalLong size, Body body, boolean smtputf8, Optional<DsnReturn> ret, Optional<String> envid) {
        this(size, body, smtputf8, ret, envid, false);
    }

    /** The same parameters with BODY= set to {@code value}. */
    public MailParameters withBody(Body value) {
        return new MailParameters(size, value, smtputf8, ret, envid, requireTls);
    }

    /** The same parameters with REQUIRETLS set to {@code value}. */
    public MailParameters withRequireTls(boolean value) {
        return new MailParameters(size, body, smtputf8, ret, envid, value);
    }

    /** BODY values (RFC 6152 §2). */
    public enum Body { SEVEN_BIT, EIGHT_BIT_MIME }
}
