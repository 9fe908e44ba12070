package dev.mxd.smtp.client;

import dev.mxd.smtp.SmtpReply;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * A session that could not carry mail to this address: the caller tries the next address of the
 * MX plan (RFC 5321 §5.1). Nothing was delivered: a failure after the content started is a
 * per-recipient {@link RecipientOutcome.Deferred} instead. The probe of {@code mxd check} reports
 * the opening of a session it could not complete with the same record ({@link ProbeResult.Failed}).
 *
 * @param target  the address connected to
 * @param host    the MX host name it belongs to
 * @param stage   where the session stopped
 * @param cause   why: refused, timeout, rejected (with {@code reply}), closed, protocol error
 * @param detail  a sentence for logs and people: what happened, where, what it means
 * @param reply   the server's rejecting reply, for {@link Cause#REJECTED}
 * @param tlsResult for {@link Cause#UNAUTHENTICATED}: the RFC 8460 result type of the failed certificate check
 */
public record SessionFailure(InetSocketAddress target, String host, SessionStage stage, Cause cause,
                             String detail, Optional<SmtpReply> reply, Optional<String> tlsResult) {

    public SessionFailure(InetSocketAddress target, String host, SessionStage stage, Cause cause,
                          String detail, Optional<SmtpReply> reply) {
        this(target, host, stage, cause, detail, reply, Optional.empty());
    }

    /** Why a session stopped, whatever the stage. */
    public enum Cause {
        /** Nothing listens: the host answered the connection with a reset. */
        REFUSED,
        /** No route, network unreachable, or another connect error. */
        UNREACHABLE,
        /** The connect or the reply did not come within its time limit. */
        TIMEOUT,
        /** The server answered with 4yz or 5yz. */
        REJECTED,
        /** The server closed the connection. */
        CLOSED,
        /** The server sent something that is not an SMTP reply. */
        PROTOCOL_ERROR,
        /**
         * This host could not open the connection: its source address (delivery.source-address) cannot be
         * bound, as when a floating address has moved to another node. Says nothing about the server.
         */
        LOCAL,
        /**
         * The TLS handshake completed but the certificate does not authenticate the server as its DANE or
         * MTA-STS policy requires (RFC 7672 §2.2, RFC 8461 §4.2): the host is not to be used for this mail.
         */
        UNAUTHENTICATED,
        /**
         * The server answered EHLO with this host's own name: it is this host reached at another address
         * (a NAT or port forward in front of it), and mail sent there would come back (Postfix's "loops back
         * to myself"). The address is not used.
         */
        LOOP;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * The TLS handshake failed: the same host may work without TLS (retry it with
     * {@link TlsPolicy#NONE} when policy allows), where other failures mean trying the next address.
     */
    public boolean tlsFailed() {
        return stage == SessionStage.TLS_HANDSHAKE;
    }

    /**
     * The server refused to talk to this host: a 5yz to HELO after EHLO got one, or to the EHLO after TLS
     * (RFC 5321 §4.2.1, a permanent reply). A 5yz greeting is not this: the server may say it only for now,
     * and RFC 5321 §3.1 sends the client on to the next MX host.
     */
    public boolean helloRefused() {
        return stage == SessionStage.EHLO && cause == Cause.REJECTED && reply.filter(SmtpReply::permanentFailure).isPresent();
    }

    /** "greeting-timeout", "connect-refused", "rcpt-closed": stage and cause for logs and metrics. */
    public String code() {
        return stage.label() + "-" + cause.label();
    }

    @Override
    public String toString() {
        return code() + ": " + detail;
    }
}
