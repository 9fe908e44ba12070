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
 */
public record MailParameters(OptionalLong size, Body body, boolean smtputf8, Optional<DsnReturn> ret, Optional<String> envid) {

    public static final MailParameters NONE = new MailParameters(OptionalLong.empty(), Body.SEVEN_BIT, false, Optional.empty(), Optional.empty());

    /** BODY values (RFC 6152 §2). */
    public enum Body { SEVEN_BIT, EIGHT_BIT_MIME }
}
