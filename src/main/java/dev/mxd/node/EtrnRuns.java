package dev.mxd.node;

import dev.mxd.config.MxdConfig;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.QueueRuns;
import dev.mxd.queue.QueueManager;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.SmtpReply;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ETRN (RFC 1985) on a backup MX: the primary, back in service, says so, and the mail held for its
 * domain is sent now instead of at its next retry (up to an hour away). Only a domain whose mail is
 * queued here for another MX may be named (a {@code backup} domain not routed {@code local}), as
 * Postfix allows ETRN only for its fast-flush domains ({@code $relay_domains}); the run is the
 * operator's {@code mxd queue flush --domain}, which also forgets the domain's MX hosts' failures.
 * Anyone may ask, so each domain gets at most one run a minute, and the reply never waits for it.
 */
final class EtrnRuns implements QueueRuns {

    private static final Logger LOG = LoggerFactory.getLogger(EtrnRuns.class);

    /** The shortest time between two runs for one domain started by ETRN. */
    static final Duration EVERY = Duration.ofMinutes(1);

    private final QueueManager queue;
    private final Predicate<String> queuedForAnotherMx;
    private final Clock clock;
    /** When the last run of each domain started; only domains that pass {@link #queuedForAnotherMx} are keys. */
    private final ConcurrentHashMap<String, Instant> started = new ConcurrentHashMap<>();

    EtrnRuns(QueueManager queue, Predicate<String> queuedForAnotherMx, Clock clock) {
        this.queue = queue;
        this.queuedForAnotherMx = queuedForAnotherMx;
        this.clock = clock;
    }

    @Override
    public SmtpReply start(String node, ClientInfo client) {
        if (node.startsWith("#")) {
            return SmtpReply.of(504, EnhancedStatus.INVALID_ARGUMENTS, "ETRN of a queue name is not offered here; name the domain: ETRN example.org");
        }
        String domain;
        try {
            domain = MxdConfig.domainKey(node);
        } catch (IllegalArgumentException e) {
            return SmtpReply.of(501, EnhancedStatus.SYNTAX_ERROR, "ETRN needs a domain name: " + e.getMessage());
        }
        if (!queuedForAnotherMx.test(domain)) {
            return SmtpReply.of(459, EnhancedStatus.NOT_AUTHORIZED_TEMPORARY, "<" + domain + ">: service unavailable: this MX queues"
                    + " no mail of that domain for another one");
        }
        Instant now = clock.instant();
        Instant[] earlier = new Instant[1];
        started.compute(domain, (key, last) -> {
            if (last != null && now.isBefore(last.plus(EVERY))) {
                earlier[0] = last;
                return last;
            }
            return now;
        });
        if (earlier[0] != null) {
            return SmtpReply.of(250, EnhancedStatus.OK, "queuing for node " + domain + " was started less than a minute ago");
        }
        String who = dev.mxd.dns.AddressText.of(client.remote().getAddress());
        Thread run = new Thread(() -> run(domain, who), "etrn " + domain);
        run.setDaemon(true);
        try {
            run.start();
        } catch (OutOfMemoryError noThread) { // a host's thread limit: the client may ask again
            started.remove(domain, now);
            return SmtpReply.of(458, EnhancedStatus.LOCAL_ERROR, "unable to queue messages for node " + domain + " now; try again later");
        }
        return SmtpReply.of(250, EnhancedStatus.OK, "queuing for node " + domain + " started");
    }

    private void run(String domain, String who) {
        LOG.info("ETRN {} from {}: the mail queued for it is tried now", domain, who);
        try {
            queue.flushDestination(domain);
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("ETRN {} from {}: the queue run failed: {}", domain, who, LogText.safe(e));
        }
    }
}
