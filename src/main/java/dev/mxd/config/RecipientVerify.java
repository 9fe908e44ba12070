package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How a backup domain tells, at RCPT, whether a recipient exists, so that it does not queue mail
 * the primary will refuse and then bounce it to a sender who may be forged (backscatter).
 *
 * @param mode           none, list or callout (below)
 * @param positiveExpire how long a recipient the primary accepted stays known (callout only)
 * @param negativeExpire how long a recipient the primary refused stays refused (callout only)
 */
public record RecipientVerify(Mode mode, Duration positiveExpire, Duration negativeExpire) {

    /**
     * 7 days: without a background refresh (Postfix refreshes after 7 days and forgets after 31), a
     * week bounds how long a mailbox removed at the primary is still accepted here, and still covers
     * a primary outage of days for every recipient that wrote in the week before.
     */
    public static final Duration DEFAULT_POSITIVE_EXPIRE = Duration.ofDays(7);
    /** 3 hours, Postfix's address_verify_negative_refresh_time: a mailbox created at the primary gets mail here within 3 h. */
    public static final Duration DEFAULT_NEGATIVE_EXPIRE = Duration.ofHours(3);

    /** The ways of verifying, as {@code verify:} names them. */
    public enum Mode {
        /** Every recipient is accepted and relayed. */
        NONE,
        /** Only the domain's {@code mailboxes:} and {@code aliases:} (and postmaster) are accepted. */
        LIST,
        /** Each recipient is asked of the best reachable better MX with a RCPT probe, and the answer cached. */
        CALLOUT;

        @JsonCreator
        public static Mode parse(String text) {
            for (Mode m : values()) {
                if (m.name().equalsIgnoreCase(text.strip())) {
                    return m;
                }
            }
            throw new IllegalArgumentException("verify '" + text + "' is unknown; write none, list or callout");
        }

        @JsonValue
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public RecipientVerify {
        Objects.requireNonNull(mode, "mode");
        if (positiveExpire.isNegative() || positiveExpire.isZero() || negativeExpire.isNegative() || negativeExpire.isZero()) {
            throw new IllegalArgumentException("verify-positive-expire and verify-negative-expire must be longer than 0s");
        }
    }

    /** {@code mode} with the default cache times. */
    public static RecipientVerify of(Mode mode) {
        return new RecipientVerify(mode, DEFAULT_POSITIVE_EXPIRE, DEFAULT_NEGATIVE_EXPIRE);
    }
}
