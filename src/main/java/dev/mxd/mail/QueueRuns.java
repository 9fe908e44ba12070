package dev.mxd.mail;

import dev.mxd.smtp.SmtpReply;

/**
 * ETRN (RFC 1985): an SMTP client, most often a domain's primary MX back in service, asks this
 * node to send the mail it queues for that domain now rather than at its next retry.
 */
public interface QueueRuns {

    /**
     * The reply to {@code ETRN node}: 250 when a queue run for the domain is started (or was started
     * moments ago), 459 for a domain whose mail is not queued here for another MX, 504 for a
     * {@code #queue} name, 458 when no run can be started now. It never waits for the run.
     *
     * @param node   the domain as the client wrote it (a leading '@' taken off), or {@code #queue}
     * @param client who asks, for the log
     */
    SmtpReply start(String node, ClientInfo client);
}
