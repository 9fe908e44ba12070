package dev.mxd.smtp.client;

import java.time.Duration;
import java.util.Optional;

/**
 * How long a probe waits and what it calls itself.
 *
 * @param connectTimeout most time for the TCP connection to open
 * @param readTimeout    most time for any one reply (greeting, EHLO, HELO) to arrive in full
 * @param ehloName       the name sent in EHLO/HELO; empty: the address literal of our end of the
 *                       connection, which is always valid (RFC 5321 §4.1.1.1, §4.1.3) where a bare
 *                       host name without a dot is not
 */
public record ProbeSettings(Duration connectTimeout, Duration readTimeout, Optional<String> ehloName) {

    /** Diagnostics defaults: 10 s to connect, 30 s per reply (RFC 5321 §4.5.3.2 allows a server 5 minutes for its greeting; a tool waits less). */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);

    public ProbeSettings {
        if (connectTimeout.isNegative() || connectTimeout.isZero() || readTimeout.isNegative() || readTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
        if (ehloName.isPresent() && (ehloName.get().isBlank() || ehloName.get().contains(" "))) {
            throw new IllegalArgumentException("EHLO name must be one word, a domain or an address literal: '" + ehloName.get() + "'");
        }
    }

    public static ProbeSettings defaults() {
        return new ProbeSettings(DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Optional.empty());
    }
}
