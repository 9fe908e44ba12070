package dev.mxd.smtp.client;

import dev.mxd.smtp.EhloExtensions;
import dev.mxd.smtp.SmtpReply;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.OptionalLong;

/** What one {@link SmtpProbe} of one address found: a server that took EHLO or HELO, or where and why it stopped. */
public sealed interface ProbeResult {

    InetSocketAddress target();

    /** Milliseconds the TCP connection took to open; empty if it did not open. */
    OptionalLong connectMillis();

    /** The greeting, when one came (also a 4yz/5yz one). */
    Optional<SmtpReply> banner();

    /** The server greeted with 220 and accepted EHLO (or HELO after refusing EHLO). */
    record Reached(InetSocketAddress target, long millis, SmtpReply greeting, SmtpReply hello, boolean esmtp,
                   EhloExtensions extensions, Optional<Tls> tls) implements ProbeResult {

        /** Reached without looking at TLS (a server that offers no STARTTLS, or a probe that did not try). */
        public Reached(InetSocketAddress target, long millis, SmtpReply greeting, SmtpReply hello, boolean esmtp,
                       EhloExtensions extensions) {
            this(target, millis, greeting, hello, esmtp, extensions, Optional.empty());
        }

        public OptionalLong connectMillis() {
            return OptionalLong.of(millis);
        }

        public Optional<SmtpReply> banner() {
            return Optional.of(greeting);
        }

        /** RFC 3207: the server offers STARTTLS to upgrade the session to TLS. */
        public boolean starttls() {
            return extensions.starttls();
        }
    }

    /** What STARTTLS gave: the certificate the server presented, or why the handshake did not complete. */
    sealed interface Tls {
        /**
         * @param chain what the server sent, its own certificate first, for checks against TLSA records and the Web PKI
         */
        record Presented(String protocol, String cipherSuite, PresentedCertificate certificate,
                         java.util.List<java.security.cert.X509Certificate> chain) implements Tls {
            public Presented {
                chain = java.util.List.copyOf(chain);
            }

            public Presented(String protocol, String cipherSuite, PresentedCertificate certificate) {
                this(protocol, cipherSuite, certificate, java.util.List.of());
            }
        }

        record Failed(String detail) implements Tls {}
    }

    /**
     * The probe stopped where {@code failure} says, as a delivery would: the same stages, causes
     * and record as {@link SmtpConnection}'s failures. {@code banner} is the greeting if one came.
     */
    record Failed(SessionFailure failure, OptionalLong connectMillis, Optional<SmtpReply> banner) implements ProbeResult {

        public InetSocketAddress target() {
            return failure.target();
        }

        public SessionStage stage() {
            return failure.stage();
        }

        public SessionFailure.Cause cause() {
            return failure.cause();
        }

        /** A sentence for people: what happened, where, what it means. */
        public String detail() {
            return failure.detail();
        }

        /** The rejecting reply, for {@link SessionFailure.Cause#REJECTED}. */
        public Optional<SmtpReply> reply() {
            return failure.reply();
        }

        /** "greeting-timeout", "connect-refused", ...: stage and cause for scripts. */
        public String code() {
            return failure.code();
        }
    }
}
