package dev.mxd.filter;

import dev.mxd.config.DomainFilter;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.Replies;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.mail.Transaction;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway filter in the receiving path (issue 7): wraps the store the SMTP server writes into
 * (the spool) and, at the end of DATA, before the reply, scans the text the store already holds
 * and acts on the verdict, so a refusal is a 5xx to the client, never a bounce.
 *
 * <ul>
 *   <li>Accept: committed as received, or, when tagged, with the verdict's headers and subject
 *       prefix applied while the durable copy is written (streamed);</li>
 *   <li>Reject, TempFail: the engine's reply, and the text is dropped;</li>
 *   <li>Quarantine: stored (fsynced) in the quarantine, never spooled for delivery, then 250;</li>
 *   <li>Discard: 250 and nothing kept.</li>
 * </ul>
 * It sits between smtp.server and the spool by implementing the server's {@link MessageStore}, so
 * neither of them knows it exists. {@link MessageStore.IncomingMessage#commit} already runs off
 * the event loop, and so does the scan.
 */
public final class FilteringStore implements MessageStore {

    private static final Logger LOG = LoggerFactory.getLogger(FilteringStore.class);

    private final MessageStore inner;
    private final FilterChain chain;
    private final Function<String, Optional<DomainFilter>> filterOfDomain;
    private final Quarantine quarantine;
    private final Clock clock;

    /**
     * @param inner          where accepted messages go (the spool)
     * @param filterOfDomain a recipient domain's filter (by the domain of its route, as decided at RCPT)
     */
    public FilteringStore(MessageStore inner, FilterChain chain, Function<String, Optional<DomainFilter>> filterOfDomain,
                          Quarantine quarantine, Clock clock) {
        this.inner = inner;
        this.chain = chain;
        this.filterOfDomain = filterOfDomain;
        this.quarantine = quarantine;
        this.clock = clock;
    }

    /** Verdicts so far by kind (accept, tagged, reject, tempfail, quarantine, discard). */
    public Map<String, Long> counts() {
        return chain.counts();
    }

    @Override
    public long freeSpace() {
        return inner.freeSpace();
    }

    @Override
    public IncomingMessage begin(Transaction transaction) {
        IncomingMessage message = inner.begin(transaction);
        Map<String, DomainFilter> policies = new LinkedHashMap<>();
        java.util.Set<Optional<DomainFilter>> distinct = new java.util.HashSet<>();
        for (Recipient r : transaction.recipients()) {
            String domain = domainOf(r.route());
            if (!policies.containsKey(domain)) {
                Optional<DomainFilter> f = filterOfDomain.apply(domain);
                distinct.add(f);
                f.ifPresent(p -> policies.put(domain, p));
            }
        }
        if (distinct.size() > 1) {
            // RCPT let in only recipients whose domains filter alike (452 4.5.3 otherwise): a reload since then made
            // them differ, and one verdict for all would apply one domain's (a discard, say) to another's recipients.
            return new Diverged(message);
        }
        return policies.isEmpty() ? message : new Filtered(message, transaction, List.copyOf(policies.values()));
    }

    private static String domainOf(Route route) {
        if (route instanceof Route.Local l) {
            return l.domain();
        }
        return ((Route.Relay) route).domain();
    }

    /** A message of the spool's, passed through: its text, id and discard; the subclass decides the commit. */
    private abstract static class Passing implements IncomingMessage {
        final IncomingMessage message;
        /** {@link #commitBy}'s deadline, when one was set; the spool's commit checks it too. */
        volatile long deadline;
        volatile boolean hasDeadline;

        Passing(IncomingMessage message) {
            this.message = message;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            message.write(b, off, len);
        }

        @Override
        public String id() {
            return message.id();
        }

        @Override
        public ReceivedText text() throws IOException {
            return message.text();
        }

        @Override
        public void discard() {
            message.discard();
        }

        @Override
        public void commitBy(long deadline) {
            this.deadline = deadline;
            hasDeadline = true;
            message.commitBy(deadline);
        }

        boolean late() {
            return hasDeadline && MessageStore.IncomingMessage.past(deadline);
        }
    }

    /** A transaction whose recipients' filters no longer agree: taken to its end, then answered 451 so it is sent again. */
    private static final class Diverged extends Passing {

        Diverged(IncomingMessage message) {
            super(message);
        }

        @Override
        public StoreOutcome commit() {
            message.discard();
            LOG.info("{}: the recipients' filter settings changed (a reload) during the transaction; answered 451", id());
            return new StoreOutcome.Failed(dev.mxd.smtp.SmtpReply.of(451, dev.mxd.smtp.EnhancedStatus.LOCAL_ERROR,
                    "The filter settings changed during this transaction; send the message again"));
        }

        @Override
        public StoreOutcome commit(TextRewrite rewrite) {
            return commit();
        }
    }

    /** A message at least one of whose recipients' domains filters: scanned when its text has ended. */
    private final class Filtered extends Passing {

        private final Transaction transaction;
        private final List<DomainFilter> policies;

        Filtered(IncomingMessage message, Transaction transaction, List<DomainFilter> policies) {
            super(message);
            this.transaction = transaction;
            this.policies = policies;
        }

        @Override
        public StoreOutcome commit() {
            if (late()) {
                // the store threads are that far behind (slow engines): no scan for a message that would be refused after
                // it, or the backlog never clears and every later message comes too late as well
                LOG.warn("{}: not scanned or stored: its turn came later than timeouts.final-reply after the final dot;"
                        + " answered 451 4.4.5, the client sends it again", id());
                message.discard();
                return new StoreOutcome.Failed(Replies.STORED_TOO_LATE);
            }
            MessageSource source;
            try {
                source = source(message.text());
            } catch (IOException e) {
                return message.commit(); // the text could not be written: the store answers that (452 4.3.1)
            }
            ScanEnvelope envelope = envelope(id(), transaction);
            FilterVerdict verdict = chain.filter(source, envelope, policies);
            if (verdict instanceof FilterVerdict.Accept a) {
                return a.unchanged() ? message.commit() : message.commit((in, out) -> MessageTagger.apply(a, in, out));
            }
            if (verdict instanceof FilterVerdict.Reject r) {
                message.discard();
                return new StoreOutcome.Failed(r.reply());
            }
            if (verdict instanceof FilterVerdict.TempFail t) {
                message.discard();
                return new StoreOutcome.Failed(t.reply());
            }
            if (verdict instanceof FilterVerdict.Quarantine q) {
                if (late()) {
                    // the client may have given up waiting: quarantined now, the copy it sends again would be a second
                    LOG.warn("{}: not quarantined: the scans ended later than timeouts.final-reply after the final dot;"
                            + " answered 451 4.4.5, the client sends it again", id());
                    message.discard();
                    return new StoreOutcome.Failed(Replies.STORED_TOO_LATE);
                }
                try {
                    QuarantineEntry entry = quarantine.store(source, envelope, transaction.parameters(),
                            transaction.recipients().stream().map(r -> r.dsn()).toList(), q.reason(), q.results(),
                            clock.instant());
                    LOG.info("{}: quarantined as {} ({}); not queued for delivery: {}", id(), entry.id(), LogText.safe(q.reason()),
                            whose(envelope));
                } catch (IOException | RuntimeException e) {
                    LOG.error("{}: cannot write to the quarantine {} ({}); answered 452 4.3.1", id(), quarantine.directory(), e.toString());
                    message.discard();
                    return new StoreOutcome.Failed(Replies.STORAGE_FAILURE);
                }
                message.discard();
                return new StoreOutcome.Stored(id());
            }
            // the sender was told 250: the log is the only trace, so it says whose mail this was (as Postfix's DISCARD does)
            LOG.info("{}: discarded ({}): {}", id(), LogText.safe(((FilterVerdict.Discard) verdict).reason()), whose(envelope));
            message.discard();
            return new StoreOutcome.Stored(id());
        }

        @Override
        public StoreOutcome commit(TextRewrite rewrite) {
            throw new UnsupportedOperationException("the gateway filter decides how a message is rewritten; call commit()");
        }

    }

    /** The store's text as the engines read it: each engine opens its own stream, nothing is copied. */
    private static MessageSource source(ReceivedText text) {
        return new MessageSource() {
            @Override
            public long size() {
                return text.size();
            }

            @Override
            public InputStream open() throws IOException {
                return text.open();
            }
        };
    }

    /**
     * client=IP, helo=NAME, from=<…>, to=<…>,<…>: whose message a discard or quarantine line speaks
     * of; the client first, and each field made safe on its own, so that long addresses can cut
     * only the recipients (the first 10 named, then how many more), never the client.
     */
    static String whose(ScanEnvelope e) {
        List<String> to = e.recipients();
        String named = String.join(",", to.stream().limit(10).map(r -> "<" + LogText.safe(r) + ">").toList())
                + (to.size() > 10 ? " (" + (to.size() - 10) + " more)" : "");
        return e.client().map(a -> "client=" + dev.mxd.smtp.AddressText.of(a) + ", ").orElse("") + e.helo().map(h -> "helo=" + LogText.safe(h) + ", ").orElse("")
                + "from=<" + LogText.safe(e.sender()) + ">, to=" + named;
    }

    static ScanEnvelope envelope(String id, Transaction t) {
        return new ScanEnvelope(id, t.sender().map(Mailbox::toString).orElse(""),
                t.recipients().stream().map(r -> r.address().toString()).toList(),
                Optional.of(t.client().remote().getAddress()), Optional.of(t.client().helo()), t.client().name());
    }
}
