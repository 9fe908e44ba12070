package dev.mxd.smtp.server;

import dev.mxd.config.Limits;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Transaction;
import dev.mxd.smtp.DataOutcome;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.Replies;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.SmtpCommand;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The SMTP conversation of one connection as a state machine (RFC 5321 §4.1.4 command order),
 * free of any network code: it takes parsed commands and DATA outcomes and says what to do.
 */
final class SmtpSession {

    /** A recipient policy that failed instead of deciding (a bug): the client tries again later. */
    /**
     * The longest a RCPT waits for a policy that decides later (a recipient callout bounds itself far
     * below this); well inside the 5 minutes an RFC 5321 §4.5.3.2.3 client waits for the reply.
     */
    static final java.time.Duration DECISION_LIMIT = java.time.Duration.ofMinutes(1);
    private static final SmtpReply RCPT_LOCAL_ERROR = SmtpReply.of(451, EnhancedStatus.LOCAL_ERROR,
            "local error in processing the recipient, try again later");

    // Settings.
    private final String hostname;
    private final Limits limits;
    private final boolean tlsAvailable;
    private final RecipientPolicy policy;

    // Connection state.
    private final InetSocketAddress remote;
    private Optional<String> clientName = Optional.empty();
    private Optional<String> helo = Optional.empty();
    private boolean esmtp;
    private boolean tls;
    private Optional<String> tlsDetails = Optional.empty();

    // Transaction state (RFC 5321 §3.3): MAIL, then RCPTs, then DATA.
    private boolean inTransaction;
    private Optional<Mailbox> sender = Optional.empty();
    private MailParameters mailParameters = MailParameters.NONE;
    private final List<Recipient> recipients = new ArrayList<>();
    /** The accepted recipients, each once: the same local part, domain and DSN parameters is a duplicate. */
    private final java.util.Set<Once> accepted = new java.util.HashSet<>();

    private record Once(String localPart, String domainKey, RcptParameters parameters) {}
    /** RCPT commands accepted in this transaction, duplicates included: what max-recipients bounds. */
    private int rcptCount;
    /**
     * The last command was a DATA refused (no MAIL, no recipients): a line that is no command next is the message text,
     * sent without the 354 (its own MAIL, RCPT and DATA lines would make a message of their own), and ends the session.
     */
    private boolean afterRefusedData;
    /** The last MAIL command was refused, and neither a MAIL taken, RSET nor HELO/EHLO came since. */
    private boolean mailRefused;
    /** The octets free in the store's file system (MessageStore#freeSpace). */
    private final java.util.function.LongSupplier freeSpace;
    /** The filter policy of the accepted recipients; every later one must share it (one reply after DATA). */
    private Optional<RcptDecision.FilterGroup> filterGroup = Optional.empty();

    SmtpSession(String hostname, Limits limits, boolean tlsAvailable, RecipientPolicy policy, InetSocketAddress remote) {
        this(hostname, limits, tlsAvailable, policy, remote, () -> Long.MAX_VALUE);
    }

    SmtpSession(String hostname, Limits limits, boolean tlsAvailable, RecipientPolicy policy, InetSocketAddress remote,
                java.util.function.LongSupplier freeSpace) {
        this.hostname = hostname;
        this.limits = limits;
        this.tlsAvailable = tlsAvailable;
        this.policy = policy;
        this.remote = remote;
        this.freeSpace = freeSpace;
    }

    /** A MAIL line that could not be parsed was refused (the handler answers it as an invalid command). */
    void mailLineRefused() {
        mailRefused = !inTransaction;
    }

    /**
     * A line over the length limit came instead of a command (it was answered without being parsed): right after a
     * refused DATA it is the message's text, sent without the 354, and the session ends. Whether it is.
     */
    boolean textAfterRefusedData() {
        boolean text = afterRefusedData;
        afterRefusedData = false;
        return text;
    }

    SessionStep onCommand(SmtpCommand command) {
        boolean textWithout354 = afterRefusedData && command instanceof SmtpCommand.Invalid;
        afterRefusedData = false;
        if (textWithout354) {
            return new SessionStep.Reply(Replies.TEXT_BEFORE_DATA_REPLY, true);
        }
        if (command instanceof SmtpCommand.Invalid i) {
            return reply(outOfSequence(i.verb()).orElse(i.reply()));
        } else if (command instanceof SmtpCommand.Ehlo e) {
            return hello(e.domain(), true);
        } else if (command instanceof SmtpCommand.Helo h) {
            return hello(h.domain(), false);
        } else if (command instanceof SmtpCommand.Mail m) {
            SessionStep step = mail(m);
            // (a MAIL refused inside a transaction, nested, leaves that transaction as it was: no DATA of its own to stop)
            mailRefused = !inTransaction && !(step instanceof SessionStep.Reply r && r.reply().positive());
            return step;
        } else if (command instanceof SmtpCommand.Rcpt r) {
            return rcpt(Optional.of(r.recipient()), r.parameters());
        } else if (command instanceof SmtpCommand.RcptPostmaster p) {
            return rcpt(policy.postmaster(), p.parameters());
        } else if (command instanceof SmtpCommand.Data) {
            return data();
        } else if (command instanceof SmtpCommand.Rset) {
            mailRefused = false;
            resetTransaction();
            return reply(Replies.RESET);
        } else if (command instanceof SmtpCommand.Noop) {
            return reply(Replies.OK);
        } else if (command instanceof SmtpCommand.Quit) {
            return new SessionStep.Reply(Replies.closing(hostname), true);
        } else if (command instanceof SmtpCommand.Vrfy) {
            return reply(Replies.CANNOT_VERIFY); // RFC 5321 §3.5.3: never disclose which users exist
        } else if (command instanceof SmtpCommand.Help) {
            return reply(Replies.help(tlsAvailable && !tls, policy.queueRuns().isPresent())); // as EHLO offers them
        } else if (command instanceof SmtpCommand.StartTls) {
            return startTls();
        } else if (command instanceof SmtpCommand.Etrn e) {
            return etrn(e.node());
        }
        throw new IllegalStateException("unhandled command " + command);
    }

    private SessionStep hello(String name, boolean extended) {
        mailRefused = false;
        resetTransaction(); // RFC 5321 §4.1.4: HELO/EHLO mid-transaction resets it
        helo = Optional.of(name);
        esmtp = extended;
        if (!extended) {
            return reply(Replies.hello(hostname, name));
        }
        List<String> lines = new ArrayList<>();
        lines.add(Replies.helloLine(hostname, name));
        lines.add("PIPELINING");                                 // RFC 2920
        lines.add("SIZE " + limits.maxMessageSize().bytes());   // RFC 1870
        lines.add("8BITMIME");                                   // RFC 6152
        lines.add("SMTPUTF8");                                   // RFC 6531
        lines.add("ENHANCEDSTATUSCODES");                        // RFC 2034
        lines.add("DSN");                                        // RFC 3461
        if (tlsAvailable && !tls) {
            lines.add("STARTTLS");                               // RFC 3207
        }
        if (tls) {
            lines.add("REQUIRETLS");                             // RFC 8689 §3: only over TLS
        }
        if (policy.queueRuns().isPresent()) {
            lines.add("ETRN");                                   // RFC 1985
        }
        lines.add("HELP");
        return reply(SmtpReply.withoutStatus(250, lines));
    }

    /** ETRN, where this node offers it: after EHLO or HELO, outside a mail transaction (as Postfix asks). */
    private SessionStep etrn(String node) {
        Optional<dev.mxd.mail.QueueRuns> runs = policy.queueRuns();
        if (runs.isEmpty()) {
            return reply(Replies.NOT_IMPLEMENTED);
        }
        if (helo.isEmpty()) {
            return reply(Replies.BAD_SEQUENCE_HELO);
        }
        if (inTransaction) {
            return reply(Replies.ETRN_IN_TRANSACTION);
        }
        return reply(runs.get().start(node, clientInfo()));
    }

    /**
     * A MAIL or RCPT refused as written is first answered for its place in the session, as Postfix's smtpd answers it
     * (503 before 501 or 555): a client is told what it did wrong first, not a parameter of a command it could not give.
     */
    private Optional<SmtpReply> outOfSequence(String verb) {
        if (verb.equals("MAIL")) {
            return helo.isEmpty() ? Optional.of(Replies.BAD_SEQUENCE_HELO)
                    : inTransaction ? Optional.of(Replies.NESTED_MAIL) : Optional.empty();
        }
        return verb.equals("RCPT") && !inTransaction ? Optional.of(Replies.BAD_SEQUENCE_MAIL) : Optional.empty();
    }

    private SessionStep mail(SmtpCommand.Mail m) {
        if (helo.isEmpty()) {
            return reply(Replies.BAD_SEQUENCE_HELO);
        }
        if (inTransaction) {
            return reply(Replies.NESTED_MAIL);
        }
        // Parameters after HELO are read as after EHLO, as Postfix reads them: a client that fell back to
        // HELO and still says SIZE= or BODY= is refused nothing for it.
        MailParameters p = m.parameters();
        if (p.requireTls() && !tls) {
            // RFC 8689 §3: REQUIRETLS only in a TLS session; where STARTTLS is not offered either, the keyword was
            // never advertised and is unknown here (RFC 5321 §4.1.1.11)
            return reply(tlsAvailable ? Replies.REQUIRETLS_NEEDS_TLS : Replies.unknownParameter("REQUIRETLS"));
        }
        if (p.size().isPresent() && p.size().getAsLong() > limits.maxMessageSize().bytes()) {
            return reply(Replies.MESSAGE_TOO_BIG); // RFC 1870 §6.1
        }
        // The spool's room for the size the client declares, as Postfix's smtpd checks it at MAIL: a message that would
        // take half of what is left is put off before the client sends its text (RFC 1870 §6.1: 452, for want of storage
        // that may be there later). Mail without SIZE= is taken until the disk is really full (min-free-space warns).
        if (p.size().isPresent() && p.size().getAsLong() > 0 && p.size().getAsLong() >= freeSpace.getAsLong() / 2) {
            return reply(Replies.STORAGE_FAILURE);
        }
        inTransaction = true;
        sender = m.sender();
        mailParameters = p;
        return reply(Replies.SENDER_OK);
    }

    /** One RCPT; an empty {@code recipient} is {@code <Postmaster>} on an MX without a local postmaster. */
    private SessionStep rcpt(Optional<Mailbox> recipient, RcptParameters parameters) {
        if (!inTransaction) {
            return reply(Replies.BAD_SEQUENCE_MAIL);
        }
        if (rcptCount >= limits.maxRecipients()) { // accepted RCPT commands, a duplicate too (as Postfix counts them)
            return reply(Replies.TOO_MANY_RECIPIENTS); // RFC 5321 §4.5.3.1.10
        }
        if (recipient.isEmpty()) {
            return reply(Replies.NO_LOCAL_POSTMASTER);
        }
        Mailbox to = recipient.get();
        if (to.isUtf8() && !mailParameters.smtputf8()) {
            return reply(Replies.UTF8_NOT_PERMITTED);
        }
        CompletableFuture<RcptDecision> later = policy.decideForClient(to, clientInfo()).toCompletableFuture();
        if (later.isDone() && !later.isCompletedExceptionally()) {
            return decided(to, parameters, later.join());
        }
        // A policy that never decides must not hold the session: after DECISION_LIMIT the client hears 451.
        return new SessionStep.AwaitRcpt(later.exceptionally(e -> new RcptDecision.Refuse(RCPT_LOCAL_ERROR))
                .completeOnTimeout(new RcptDecision.Refuse(RCPT_LOCAL_ERROR), DECISION_LIMIT.toMillis(), TimeUnit.MILLISECONDS),
                d -> decided(to, parameters, d));
    }

    /** The policy's decision about {@code to}; the session has read nothing else meanwhile. */
    private SessionStep decided(Mailbox to, RcptParameters parameters, RcptDecision d) {
        if (!inTransaction) {
            return reply(Replies.BAD_SEQUENCE_MAIL); // cannot happen while the connection waits; kept safe all the same
        }
        if (d instanceof RcptDecision.Refuse refuse) {
            return reply(refuse.reply());
        }
        RcptDecision.Accept accept = (RcptDecision.Accept) d;
        if (filterGroup.isPresent() && !filterGroup.get().equals(accept.filter())) {
            // One transaction, one reply after DATA: a recipient whose domain filters differently would be
            // rejected, quarantined or discarded by another domain's policy. 452 4.5.3 makes the client send
            // it in a transaction of its own (RFC 5321 §4.5.3.1.10); the ones accepted so far stay.
            return reply(Replies.OTHER_FILTER_POLICY);
        }
        filterGroup = Optional.of(accept.filter());
        // The same recipient twice in one transaction, with the same DSN parameters, is one recipient (Postfix's cleanup
        // drops such a duplicate): it was sent the message twice over SMTP and named twice in every notice. One with
        // another NOTIFY or ORCPT stays (two aliases that expand to one address): its notice is a different one.
        rcptCount++;
        if (!accepted.add(new Once(to.localPart(), to.domainKey(), parameters))) {
            return reply(Replies.RECIPIENT_OK);
        }
        recipients.add(new Recipient(to, parameters, accept.route()));
        return reply(Replies.RECIPIENT_OK);
    }

    private SessionStep data() {
        if (!inTransaction) {
            // Its MAIL was refused (SIZE, a parameter, its syntax): a client that sent the text anyway is stopped as below.
            // (DATA with no MAIL at all is a confused client's, answered 503 as before.)
            afterRefusedData = mailRefused;
            return reply(Replies.BAD_SEQUENCE_MAIL);
        }
        if (recipients.isEmpty()) {
            // The transaction ends here (RFC 5321 §3.3: after a refused DATA the client must not send the text), and a client
            // that sent its text anyway, in a later segment than the DATA, is stopped at its first line (afterRefusedData).
            resetTransaction();
            afterRefusedData = true;
            return reply(Replies.BAD_SEQUENCE_RCPT);
        }
        return new SessionStep.BeginData(Replies.START_DATA, transaction());
    }

    private SessionStep startTls() {
        if (!tlsAvailable) {
            return reply(Replies.TLS_NOT_AVAILABLE);
        }
        if (tls) {
            return reply(Replies.ALREADY_TLS);
        }
        return new SessionStep.BeginTls(Replies.START_TLS);
    }

    /** RFC 3207 §4.2: after the handshake, forget everything the client said before it. */
    /** The client's confirmed host name, learnt before the greeting (empty: unknown). */
    void named(Optional<String> name) {
        clientName = name;
    }

    void tlsStarted(Optional<String> details) {
        tls = true;
        tlsDetails = details;
        helo = Optional.empty();
        esmtp = false;
        resetTransaction();
    }

    /** The text after DATA ended; a complete message goes to the store, anything else resets the transaction. */
    SessionStep onData(DataOutcome outcome) {
        if (outcome instanceof DataOutcome.Complete c) {
            return new SessionStep.Store(transaction(), c.size());
        }
        resetTransaction();
        if (outcome instanceof DataOutcome.TooBig) {
            return reply(Replies.MESSAGE_TOO_BIG);
        }
        if (outcome instanceof DataOutcome.LineTooLong) {
            return reply(Replies.DATA_LINE_TOO_LONG);
        }
        if (outcome instanceof DataOutcome.TooManyHops hops) {
            return reply(Replies.tooManyHops(hops.received(), hops.limit()));
        }
        return new SessionStep.Reply(Replies.BARE_LINE_ENDING, true);
    }

    /** The store's answer to the last message; the transaction ends either way (RFC 5321 §4.1.1.4). */
    SmtpReply onStored(MessageStore.StoreOutcome outcome) {
        resetTransaction();
        if (outcome instanceof MessageStore.StoreOutcome.Stored s) {
            return Replies.queued(s.queueId());
        }
        return ((MessageStore.StoreOutcome.Failed) outcome).reply();
    }

    boolean tls() {
        return tls;
    }

    /** The envelope sender of the open transaction, as text ({@code ""} for the null sender). */
    Optional<String> senderText() {
        return inTransaction ? Optional.of(sender.map(Object::toString).orElse("")) : Optional.empty();
    }

    /** The first recipient accepted in the open transaction. */
    Optional<String> firstRecipient() {
        return recipients.isEmpty() ? Optional.empty() : Optional.of(recipients.get(0).address().toString());
    }

    Optional<String> helo() {
        return helo;
    }

    boolean esmtp() {
        return esmtp;
    }

    ClientInfo clientInfo() {
        return new ClientInfo(remote, helo.orElse("unknown"), esmtp, tls, tlsDetails, clientName);
    }

    private Transaction transaction() {
        return new Transaction(sender, mailParameters, recipients, clientInfo());
    }

    private void resetTransaction() {
        inTransaction = false;
        sender = Optional.empty();
        mailParameters = MailParameters.NONE;
        recipients.clear();
        accepted.clear();
        rcptCount = 0;
        filterGroup = Optional.empty();
    }

    private static SessionStep reply(SmtpReply r) {
        return new SessionStep.Reply(r, false);
    }
}
