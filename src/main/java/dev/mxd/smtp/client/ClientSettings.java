package dev.mxd.smtp.client;

import dev.mxd.smtp.AddressText;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * How an outbound {@link SmtpConnection} behaves: the name it gives in EHLO, how long it waits at
 * each step, and whether it uses TLS.
 *
 * @param heloName     our host name for EHLO/HELO (RFC 5321 §4.1.1.1: a fully-qualified domain name)
 * @param timeouts     how long each step may take
 * @param tls          when to use STARTTLS
 * @param sslContext   the TLS engine; the default trusts every certificate, as opportunistic TLS may
 * @param tlsProtocols the TLS versions offered; only TLS 1.2 and 1.3 are allowed
 * @param sourceAddresses the local addresses connections come from, at most one per family (Postfix's
 *                     smtp_bind_address and smtp_bind_address6); a target of a family without one is
 *                     connected from whatever address the system chooses
 * @param authentication how the server's certificate is checked after the handshake (DANE, MTA-STS);
 *                     empty for unauthenticated TLS
 */
public record ClientSettings(String heloName, Timeouts timeouts, TlsPolicy tls, SSLContext sslContext,
                             List<String> tlsProtocols, List<InetAddress> sourceAddresses,
                             Optional<ServerAuthentication> authentication) {

    /** Settings without a certificate check. */
    public ClientSettings(String heloName, Timeouts timeouts, TlsPolicy tls, SSLContext sslContext,
                          List<String> tlsProtocols, List<InetAddress> sourceAddresses) {
        this(heloName, timeouts, tls, sslContext, tlsProtocols, sourceAddresses, Optional.empty());
    }

    /** The protocols mxd speaks: older versions are broken (RFC 8996 deprecates TLS 1.0 and 1.1). */
    public static final List<String> TLS_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /**
     * Time limits per step; RFC 5321 §4.5.3.2 gives the minimums a client should wait, which are
     * the defaults here (Postfix uses the same values).
     *
     * @param connect   TCP connect
     * @param greeting  the 220 greeting (§4.5.3.2.1: 5 minutes)
     * @param helo      EHLO/HELO, STARTTLS and its handshake, RSET (no RFC value; Postfix waits 5 minutes)
     * @param mail      MAIL FROM (§4.5.3.2.2: 5 minutes)
     * @param rcpt      each RCPT TO (§4.5.3.2.3: 5 minutes)
     * @param dataInit  the 354 reply to DATA (§4.5.3.2.4: 2 minutes)
     * @param dataBlock each write of message content (§4.5.3.2.5: 3 minutes per TCP send)
     * @param dataDone  the reply to the final dot (§4.5.3.2.6: 10 minutes; the server may be filtering)
     */
    public record Timeouts(Duration connect, Duration greeting, Duration helo, Duration mail, Duration rcpt,
                           Duration dataInit, Duration dataBlock, Duration dataDone) {

        public Timeouts {
            for (Duration d : List.of(connect, greeting, helo, mail, rcpt, dataInit, dataBlock, dataDone)) {
                if (d.isNegative() || d.isZero() || d.toMillis() > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("SMTP client timeouts must be positive and under 24 days, not " + d);
                }
            }
        }

        public static Timeouts rfc5321() {
            return new Timeouts(Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofMinutes(5),
                    Duration.ofMinutes(5), Duration.ofMinutes(2), Duration.ofMinutes(3), Duration.ofMinutes(10));
        }

        /** The {@code delivery.command-timeout} setting: one limit for EHLO, MAIL, RCPT and DATA's 354. */
        public Timeouts withCommand(Duration command) {
            return new Timeouts(connect, greeting, command, command, command, command, dataBlock, dataDone);
        }

        public Timeouts withConnect(Duration d) {
            return new Timeouts(d, greeting, helo, mail, rcpt, dataInit, dataBlock, dataDone);
        }

        public Timeouts withGreeting(Duration d) {
            return new Timeouts(connect, d, helo, mail, rcpt, dataInit, dataBlock, dataDone);
        }

        /** One limit for every step: what tests use to make a stuck peer cost seconds, not minutes. */
        public static Timeouts all(Duration d) {
            return new Timeouts(d, d, d, d, d, d, d, d);
        }
    }

    public ClientSettings {
        if (heloName == null || heloName.isBlank() || heloName.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            throw new IllegalArgumentException("HELO name must be one ASCII word, a domain or an address literal: '"
                    + heloName + "'");
        }
        tlsProtocols = List.copyOf(tlsProtocols);
        if (tlsProtocols.isEmpty() || !TLS_PROTOCOLS.containsAll(tlsProtocols)) {
            throw new IllegalArgumentException("TLS protocols must be among " + TLS_PROTOCOLS + ", not " + tlsProtocols);
        }
        sourceAddresses = List.copyOf(sourceAddresses);
        if (sourceAddresses.stream().filter(a -> a instanceof Inet4Address).count() > 1
                || sourceAddresses.stream().filter(a -> a instanceof Inet6Address).count() > 1) {
            throw new IllegalArgumentException("at most one IPv4 and one IPv6 source address, not " + sourceAddresses);
        }
    }

    /** The source address for a connection to {@code target}: the one of its family, if one is set. */
    public Optional<InetAddress> sourceFor(InetAddress target) {
        return sourceAddresses.stream().filter(a -> (a instanceof Inet6Address) == (target instanceof Inet6Address)).findFirst();
    }

    public ClientSettings withSourceAddresses(List<InetAddress> addresses) {
        return new ClientSettings(heloName, timeouts, tls, sslContext, tlsProtocols, addresses, authentication);
    }

    /** A source address mxd cannot send from on this host (not one of its addresses): a setting to correct. */
    public static final class UnusableSourceAddress extends java.io.IOException {
        public UnusableSourceAddress(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Binds a socket to each source address once, so an address this host does not have is reported
     * when mxd starts rather than as a deferral of every message.
     */
    public static void checkSourceAddresses(List<InetAddress> addresses) throws UnusableSourceAddress {
        for (InetAddress a : addresses) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.bind(new java.net.InetSocketAddress(a, 0));
            } catch (java.io.IOException e) {
                throw new UnusableSourceAddress("delivery.source-address " + AddressText.of(a) + " cannot be used: "
                        + e.getMessage() + "; it must be an address of this host (see ip -br addr)", e);
            }
        }
    }

    /** RFC 5321 timeouts, opportunistic TLS with TLS 1.2 and 1.3. */
    public static ClientSettings defaults(String heloName) {
        return new ClientSettings(heloName, Timeouts.rfc5321(), TlsPolicy.OPPORTUNISTIC, trustingContext(), TLS_PROTOCOLS, List.of());
    }

    public ClientSettings withTimeouts(Timeouts t) {
        return new ClientSettings(heloName, t, tls, sslContext, tlsProtocols, sourceAddresses, authentication);
    }

    public ClientSettings withTls(TlsPolicy policy) {
        return new ClientSettings(heloName, timeouts, policy, sslContext, tlsProtocols, sourceAddresses, authentication);
    }

    /** These settings with the server's certificate checked by {@code check} after the handshake (none: unchecked). */
    public ClientSettings withAuthentication(Optional<ServerAuthentication> check) {
        return new ClientSettings(heloName, timeouts, tls, sslContext, tlsProtocols, sourceAddresses, check);
    }

    /**
     * A TLS context that accepts any server certificate. RFC 7435 §3 lets opportunistic TLS skip
     * authentication: most MX hosts have self-signed or mismatched certificates, and refusing them
     * would send the mail in plain text instead. Verified TLS (DANE, MTA-STS) needs its own context.
     */
    public static SSLContext trustingContext() {
        X509TrustManager trustAll = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
                // we are the client
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                // RFC 7435: encryption without authentication beats plain text
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trustAll}, new SecureRandom());
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no TLS implementation: " + e.getMessage(), e);
        }
    }
}
