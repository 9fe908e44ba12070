package dev.mxd.smtp;

import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * The DSN parameters of RCPT TO (RFC 3461 §4.1-4.2), stored with the message for later bounces.
 *
 * @param notifyOn when to send a DSN; empty means not given (the default: FAILURE, maybe DELAY)
 * @param orcpt  ORCPT= as "addr-type;address", xtext-decoded
 */
public record RcptParameters(Set<DsnNotify> notifyOn, Optional<String> orcpt) {

    public static final RcptParameters NONE = new RcptParameters(Set.of(), Optional.empty());

    public RcptParameters {
        notifyOn = notifyOn.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(notifyOn));
        if (notifyOn.contains(DsnNotify.NEVER) && notifyOn.size() > 1) {
            throw new IllegalArgumentException("NOTIFY=NEVER cannot be combined with other values (RFC 3461 §4.1)");
        }
    }
}
