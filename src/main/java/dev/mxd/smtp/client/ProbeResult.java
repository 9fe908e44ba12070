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
        record Presented(String protocol, String cipherSuite, PresentedCertificate certificate) implements Tls {}

        record Failed(String detail) implements Tls {}
    }

    /**
     * The probe stopped at {@code stage} for {@code failure}; {@code reply} is the rejecting reply
     * for {@link ProbeFailure#REJECTED}. {@code detail} is a sentence for people.
     */
    record Failed(InetSocketAddress target, ProbeStage stage, ProbeFailure failure, String detail,
                  OptionalLong connectMillis, Optional<SmtpReply> banner, Optional<SmtpReply> reply)
            implements ProbeResult {

        /** "greeting-timeout", "connect-refused", ...: stage and failure for scripts. */
        public String code() {
            return stage.label() + "-" + failure.label();
        }
    }
}
