package dev.mxd.smtp.server;

import dev.mxd.config.Limits;
import dev.mxd.smtp.Replies;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.SmtpCommand;

/**
 * The errors and junk commands of one session, as Postfix counts them: replies of 400 and more
 * to commands are errors, and so is every junk command (NOOP, RSET, VRFY, HELP, ETRN, HELO and
 * EHLO: what a client can repeat for ever without a reply of 400 or more, as Postfix's smtpd
 * marks them) beyond {@code limits.max-junk-commands}; a message whose text is refused (5yz
 * after the final dot: too big, a virus, too many hops) is an error too. Past {@code limits.errors-before-delay} errors every reply
 * waits; at {@code limits.max-errors} the session is closed. Delivering a message starts both
 * counts again. Not counted: 452 for too many recipients (RFC 5321 §4.5.3.1.10 tells the client
 * to send the rest later, which a pipelining client discovers only from the replies), up to
 * {@link #RECIPIENT_OVERSHOOT} of them (Postfix's {@code smtpd_recipient_overshoot_limit}), with
 * the 452 for a recipient of another filter policy than the transaction's, which is of the same
 * kind: each one past that counts, so a client that keeps sending RCPT for ever is closed in the
 * end; and 452 for a full spool (the server's trouble, not the client's).
 */
final class ClientErrors {

    /** What to do with the reply just counted. */
    enum Verdict { ANSWER, DELAY, DISCONNECT }

    /** 452 "too many recipients" replies a session gets before each further one counts as an error. */
    static final int RECIPIENT_OVERSHOOT = 1000;

    private final Limits limits;
    private int junk;
    private int errors;
    private int overshoot;

    ClientErrors(Limits limits) {
        this.limits = limits;
    }

    static boolean junk(SmtpCommand command) {
        return command instanceof SmtpCommand.Noop || command instanceof SmtpCommand.Rset
                || command instanceof SmtpCommand.Vrfy || command instanceof SmtpCommand.Help
                || command instanceof SmtpCommand.Etrn // Postfix counts ETRN among its junk commands too
                || command instanceof SmtpCommand.Ehlo || command instanceof SmtpCommand.Helo; // and HELO and EHLO
    }

    /** Counts one reply to a command ({@code junk}: the command was one of the junk commands). */
    Verdict count(boolean junk, SmtpReply reply) {
        if (junk && ++this.junk > limits.maxJunkCommands() || error(reply)
                || reply.code() == 452 && (reply.equals(Replies.TOO_MANY_RECIPIENTS) || reply.equals(Replies.OTHER_FILTER_POLICY))
                        && ++overshoot > RECIPIENT_OVERSHOOT) {
            errors++;
        }
        return verdict();
    }

    /**
     * Counts the reply to a message's text: a refusal (5yz: too big, a line too long, too many hops, a filter's reject) is
     * the client's error, as Postfix counts a message its cleanup or a milter rejects, so that a client sending refused
     * message after refused message is slowed and closed in the end; a 4yz there is this server's trouble or a verdict
     * for later (a full spool, a filter engine down, a commit too late), not counted.
     */
    Verdict countText(SmtpReply reply) {
        if (reply.code() >= 500) {
            errors++;
        }
        return verdict();
    }

    private Verdict verdict() {
        if (errors >= limits.maxErrors()) {
            return Verdict.DISCONNECT;
        }
        return errors > limits.errorsBeforeDelay() ? Verdict.DELAY : Verdict.ANSWER;
    }

    /** A message was delivered (stored): the client is doing what SMTP is for. */
    void delivered() {
        junk = 0;
        errors = 0;
        overshoot = 0;
    }

    int errors() {
        return errors;
    }

    private static boolean error(SmtpReply reply) {
        return reply.code() >= 400 && !reply.equals(Replies.TOO_MANY_RECIPIENTS) && !reply.equals(Replies.OTHER_FILTER_POLICY)
                && !reply.equals(Replies.STORAGE_FAILURE);
    }
}
