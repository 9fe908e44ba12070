package dev.mxd.smtp.client;

import dev.mxd.smtp.SmtpReply;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * A session that could not carry mail to this address: the caller tries the next address of the
 * MX plan (RFC 5321 §5.1). Nothing was delivered: a failure after the content started is a
 * per-recipient {@link RecipientOutcome.Deferred} instead.
 *
 * @param target  the address connected to
 * @param host    the MX host name it belongs to
 * @param stage   where the session stopped
 * @param cause   why: refused, timeout, rejected (with {@code reply}), closed, protocol error
 * @param detail  a sentence for logs and people: what happened, where, what it means
 * @param reply   the server's rejecting reply, for {@link ProbeFailure#REJECTED}
 */
public record SessionFailure(InetSocketAddress target, String host, SessionStage stage, ProbeFailure cause,
                             String detail, Optional<SmtpReply> reply) {

    /**
     * The TLS handshake failed: the same host may work without TLS (retry it with
     * {@link TlsPolicy#NONE} when policy allows), where other failures mean trying the next address.
     */
    public boolean tlsFailed() {
        return stage == SessionStage.TLS_HANDSHAKE;
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
