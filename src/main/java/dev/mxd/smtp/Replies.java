package dev.mxd.smtp;

import java.util.List;

/**
 * Every reply the receiving server gives, in one table, so that codes and enhanced status
 * codes (RFC 5321 §4.2.2-4.2.3, RFC 3463) are decided in one place.
 */
public final class Replies {

    private Replies() {}

    // Connection and greeting (RFC 5321 §4.2, §3.1; no enhanced code on greetings, RFC 2034 §3).
    public static SmtpReply greeting(String host) {
        return SmtpReply.of(220, host + " ESMTP mxd");
    }

    public static SmtpReply closing(String host) {
        return SmtpReply.of(221, EnhancedStatus.OK, host + " closing connection");
    }

    public static SmtpReply shuttingDown(String host) {
        return SmtpReply.of(421, EnhancedStatus.NOT_ACCEPTING, host + " shutting down, try again later");
    }

    /** A fault of mxd's own in the session (a bug, not the client's): nothing of the transaction was accepted. */
    public static SmtpReply internalError(String host) {
        return SmtpReply.of(421, EnhancedStatus.LOCAL_ERROR, host + " internal error, closing connection; try again later");
    }

    public static SmtpReply timeout(String host) {
        return SmtpReply.of(421, EnhancedStatus.BAD_CONNECTION, host + " timeout exceeded, closing connection");
    }

    public static final SmtpReply TOO_MANY_CONNECTIONS = SmtpReply.of(421, EnhancedStatus.SECURITY_TEMPORARY, "too many connections, try again later");
    public static final SmtpReply TOO_MANY_CONNECTIONS_FROM_YOU =
            SmtpReply.of(421, EnhancedStatus.SECURITY_TEMPORARY, "too many connections from your address, try again later");
    public static final SmtpReply TOO_MANY_CONNECTIONS_FROM_YOUR_NETWORK =
            SmtpReply.of(421, EnhancedStatus.SECURITY_TEMPORARY, "too many connections from your network, try again later");

    /** The session made {@code limits.max-errors} errors without delivering a message (as Postfix's hard error limit). */
    public static SmtpReply tooManyErrors(String host) {
        return SmtpReply.of(421, EnhancedStatus.SECURITY_TEMPORARY, host + " too many errors, closing connection");
    }

    /** Closed to make room for a new client while the connection limits are reached (the idlest session goes first). */
    public static SmtpReply shedIdle(String host) {
        return SmtpReply.of(421, EnhancedStatus.BAD_CONNECTION, host + " idle too long while busy, closing connection; try again later");
    }
    public static final SmtpReply TALKED_BEFORE_GREETING =
            SmtpReply.of(554, EnhancedStatus.INVALID_COMMAND, "protocol error: you sent before my greeting");

    // Positive completions.
    public static final SmtpReply OK = SmtpReply.of(250, EnhancedStatus.OK, "OK");
    public static final SmtpReply SENDER_OK = SmtpReply.of(250, EnhancedStatus.SENDER_OK, "sender OK");
    public static final SmtpReply RECIPIENT_OK = SmtpReply.of(250, EnhancedStatus.RECIPIENT_OK, "recipient OK");
    public static final SmtpReply RESET = SmtpReply.of(250, EnhancedStatus.OK, "reset");
    public static final SmtpReply START_DATA = SmtpReply.of(354, "end data with <CR><LF>.<CR><LF>");
    public static final SmtpReply START_TLS = SmtpReply.of(220, EnhancedStatus.OK, "ready to start TLS");
    /** RFC 5321 §3.5.3: 252 when the server will not verify but will try to deliver. */
    public static final SmtpReply CANNOT_VERIFY = SmtpReply.of(252, EnhancedStatus.PROTOCOL_OK, "cannot VRFY user, but will accept message and attempt delivery");
    /** HELP: the commands this session takes ({@code startTls}: STARTTLS is offered now; {@code etrn}: ETRN is offered). */
    public static SmtpReply help(boolean startTls, boolean etrn) {
        return SmtpReply.of(214, EnhancedStatus.OK, List.of("mxd: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"
                + (startTls ? " STARTTLS" : "") + (etrn ? " ETRN" : ""), "see RFC 5321"));
    }

    public static SmtpReply hello(String host, String client) {
        return SmtpReply.of(250, helloLine(host, client));
    }

    /** The first line of the reply to HELO or EHLO: the client's name in A-labels, as a reply is ASCII (RFC 5321 §4.2). */
    public static String helloLine(String host, String client) {
        return host + " hello " + Mailbox.asciiDomain(client).orElse(client);
    }

    public static SmtpReply queued(String queueId) {
        return SmtpReply.of(250, EnhancedStatus.OK, "OK queued as " + queueId);
    }

    // Syntax and sequence (RFC 5321 §4.2.4, §4.3.2; RFC 3463 X.5.x).
    public static final SmtpReply UNKNOWN_COMMAND = SmtpReply.of(500, EnhancedStatus.SYNTAX_ERROR, "command not recognized");
    public static final SmtpReply NOT_IMPLEMENTED = SmtpReply.of(502, EnhancedStatus.INVALID_COMMAND, "command not implemented");
    // 500 5.5.6, as issue 3 writes the contract (RFC 4954 registered X.5.6 for an AUTH line too long; Postfix's smtpd says 5.5.2)
    public static final SmtpReply LINE_TOO_LONG = SmtpReply.of(500, EnhancedStatus.LINE_TOO_LONG, "line too long");
    public static final SmtpReply BAD_SEQUENCE_HELO = SmtpReply.of(503, EnhancedStatus.INVALID_COMMAND, "bad sequence of commands: send EHLO or HELO first");
    public static final SmtpReply BAD_SEQUENCE_MAIL = SmtpReply.of(503, EnhancedStatus.INVALID_COMMAND, "bad sequence of commands: send MAIL first");
    public static final SmtpReply BAD_SEQUENCE_RCPT = SmtpReply.of(503, EnhancedStatus.INVALID_COMMAND, "bad sequence of commands: no valid recipients");
    /**
     * DATA refused while more input waits behind it: the client sent its text without waiting for the 354 (RFC 2920
     * §3.1 makes DATA the last command of a group), and that text must not run as commands (a body naming RCPT and
     * DATA lines would inject a message); the connection is closed, as Postfix's smtpd_forbid_unauth_pipelining does.
     */
    public static final SmtpReply TEXT_BEFORE_DATA_REPLY = SmtpReply.of(554, EnhancedStatus.PROTOCOL_ERROR,
            "DATA was refused; the message text sent after it is not taken as commands (RFC 2920 §3.1); closing");
    /**
     * BDAT when CHUNKING is not offered: its chunk's octets follow the command at once and cannot be told from
     * commands (a chunk holding MAIL, RCPT and DATA lines would queue a message of its own), so the session ends,
     * as Postfix's smtpd answers BDAT with CHUNKING turned off.
     */
    public static final SmtpReply CHUNKING_NOT_OFFERED = SmtpReply.of(521, EnhancedStatus.INVALID_COMMAND,
            "BDAT is not offered here (no CHUNKING); its chunk is not read as commands; closing");
    public static final SmtpReply ETRN_IN_TRANSACTION = SmtpReply.of(503, EnhancedStatus.INVALID_COMMAND,
            "bad sequence of commands: ETRN inside a mail transaction; finish it or RSET first");
    public static final SmtpReply NESTED_MAIL = SmtpReply.of(503, EnhancedStatus.INVALID_COMMAND, "bad sequence of commands: MAIL already given, RSET first");
    public static final SmtpReply ALREADY_TLS = SmtpReply.of(503, EnhancedStatus.INVALID_COMMAND, "TLS already active");
    /**
     * REQUIRETLS on MAIL FROM outside a TLS session (RFC 8689 §3: it may only be given over TLS, and mxd
     * offers it only there): 530, as RFC 3207 §4 answers a command that needs STARTTLS first, with 5.7.10.
     */
    public static final SmtpReply REQUIRETLS_NEEDS_TLS = SmtpReply.of(530, EnhancedStatus.ENCRYPTION_NEEDED,
            "REQUIRETLS needs a TLS session: issue STARTTLS first");
    public static final SmtpReply TLS_NOT_AVAILABLE = SmtpReply.of(502, EnhancedStatus.INVALID_COMMAND, "STARTTLS not available: no certificate configured");
    public static final SmtpReply BARE_LINE_ENDING =
            SmtpReply.of(521, EnhancedStatus.SYNTAX_ERROR, "bare <LF> or <CR> received; lines must end with <CR><LF> (RFC 5321 §2.3.8), closing");
    // after the final dot RFC 5321 §4.3.2 allows 554 (not 500, "command unrecognized") for a refused transaction
    public static final SmtpReply DATA_LINE_TOO_LONG = SmtpReply.of(554, EnhancedStatus.CONTENT_REFUSED,
            "message line too long, message rejected");
    /** RFC 5321 §6.3: too many Received fields means a loop; Postfix says "too many hops" (5.4.6). */
    public static SmtpReply tooManyHops(int received, int limit) {
        return SmtpReply.of(554, EnhancedStatus.ROUTING_LOOP, "too many hops: " + received + " Received header fields, more than "
                + limit + "; the message is looping, message rejected");
    }

    public static final SmtpReply MESSAGE_TOO_BIG = SmtpReply.of(552, EnhancedStatus.TOO_BIG, "message size exceeds fixed maximum message size");
    public static final SmtpReply TOO_MANY_RECIPIENTS = SmtpReply.of(452, EnhancedStatus.TOO_MANY_RECIPIENTS, "too many recipients");
    /** A recipient whose domain filters mail differently from those already accepted (RFC 5321 §4.5.3.1.10). */
    public static final SmtpReply OTHER_FILTER_POLICY = SmtpReply.of(452, EnhancedStatus.TOO_MANY_RECIPIENTS,
            "too many recipients: this domain filters mail differently, send to it in a new transaction");
    /** A message not yet durable {@code timeouts.final-reply} after its final dot: nothing is stored. */
    public static final SmtpReply STORED_TOO_LATE = SmtpReply.of(451, EnhancedStatus.CONGESTION,
            "too busy to store the message in the time a client waits for this reply, send it again later");
    public static final SmtpReply STORAGE_FAILURE = SmtpReply.of(452, EnhancedStatus.SYSTEM_FULL, "insufficient system storage, try again later");
    public static final SmtpReply UTF8_NOT_PERMITTED =
            SmtpReply.of(553, EnhancedStatus.NEEDS_SMTPUTF8, "non-ASCII address requires the SMTPUTF8 parameter on MAIL (RFC 6531)");
    /** RCPT TO:&lt;Postmaster&gt; on an MX with no local domain (docs/config.md, "Postmaster"). */
    public static final SmtpReply NO_LOCAL_POSTMASTER = SmtpReply.of(550, EnhancedStatus.BAD_MAILBOX,
            "<Postmaster>: this MX has no local domain to deliver it to; write to postmaster@ the domain you mean");
    public static final SmtpReply BODY_NOT_SUPPORTED = SmtpReply.of(504, EnhancedStatus.INVALID_ARGUMENTS, "BODY type not supported; use 7BIT or 8BITMIME");

    /**
     * 501: the arguments of a known command are wrong. {@code what} may quote the client's
     * text: control characters in it (a CR or LF would end the reply line), C1 controls and
     * Unicode line separators are shown as '?'.
     */
    public static SmtpReply syntax(String what) {
        StringBuilder visible = new StringBuilder(what.length());
        for (int i = 0; i < what.length(); i++) {
            char c = what.charAt(i);
            visible.append(c < 0x20 || c >= 0x7f && c < 0xa0 || c == '\u2028' || c == '\u2029' ? '?' : c);
        }
        return SmtpReply.of(501, EnhancedStatus.INVALID_ARGUMENTS, visible.toString());
    }

    /** 555: MAIL/RCPT parameters not recognized or not implemented (RFC 5321 §4.1.1.11). */
    public static SmtpReply unknownParameter(String name) {
        return SmtpReply.of(555, EnhancedStatus.INVALID_ARGUMENTS, "parameter " + name + " not recognized");
    }

    // Policy (RFC 3463 X.1.x addressing, X.7.x security).
    public static SmtpReply unknownUser(String address) {
        return SmtpReply.of(550, EnhancedStatus.BAD_MAILBOX, "<" + address + ">: no such user here");
    }

    public static SmtpReply relayDenied(String address) {
        return SmtpReply.of(554, EnhancedStatus.NOT_AUTHORIZED, "<" + address + ">: Relay access denied");
    }
}
