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
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ETRN (RFC 1985) on a backup MX: the primary, back in service, says so, and the mail held for its
 * domain is sent now instead of at its next retry (up to an hour away). Only a domain whose mail is
 * queued here for another MX may be named (a {@code backup} domain not routed {@code local}), as
 * Postfix allows ETRN only for its fast-flush domains ({@code $relay_domains}); the run is the
 * operator's {@code mxd queue flush --domain}, which also forgets the domain's MX hosts' failures.
 *
 * <p>Anyone may ask, and a run reads every deferred envelope, so runs are bounded: one at a time on
 * one thread, and for each domain at most one a minute. A request inside that minute is not dropped
 * (the primary may have asked a moment too early, and the run then found it still closed): one run is
 * scheduled for the minute's end, however many requests arrive meanwhile. The reply never waits.
 */
final class EtrnRuns implements QueueRuns, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EtrnRuns.class);

    /** The shortest time between the starts of two runs for one domain. */
    static final Duration EVERY = Duration.ofMinutes(1);

    /** What a run does: {@link QueueManager#flushDestination}. */
    interface DomainFlush {
        int flush(String domain) throws java.io.IOException;
    }

    private final DomainFlush flush;
    private final Duration every;
    private final Predicate<String> queuedForAnotherMx;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor runner;
    /** Per domain (only domains that pass {@link #queuedForAnotherMx}): when the next run may start, and whether one waits. */
    private final Map<String, Schedule> schedules = new HashMap<>();

    private static final class Schedule {
        Instant nextAllowed = Instant.MIN;
        boolean waiting;
    }

    EtrnRuns(QueueManager queue, Predicate<String> queuedForAnotherMx, Clock clock) {
        this(queue::flushDestination, queuedForAnotherMx, clock, EVERY);
    }

    EtrnRuns(DomainFlush flush, Predicate<String> queuedForAnotherMx, Clock clock, Duration every) {
        this.flush = flush;
        this.every = every;
        this.queuedForAnotherMx = queuedForAnotherMx;
        this.clock = clock;
        this.runner = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "etrn");
            t.setDaemon(true);
            return t;
        });
        runner.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
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
        String who = dev.mxd.smtp.AddressText.of(client.remote().getAddress());
        Instant now = clock.instant();
        synchronized (schedules) {
            Schedule s = schedules.computeIfAbsent(domain, d -> new Schedule());
            if (s.waiting) {
                return SmtpReply.of(250, EnhancedStatus.OK, "queuing for node " + domain + " is about to start");
            }
            Duration wait = now.isBefore(s.nextAllowed) ? Duration.between(now, s.nextAllowed) : Duration.ZERO;
            try {
                runner.schedule(() -> run(domain, who), wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException | OutOfMemoryError cannot) { // stopping, or no thread to be had
                return SmtpReply.of(458, EnhancedStatus.LOCAL_ERROR, "unable to queue messages for node " + domain + " now; try again later");
            }
            s.waiting = true;
            s.nextAllowed = now.plus(wait).plus(every);
            return SmtpReply.of(250, EnhancedStatus.OK, wait.isZero() ? "queuing for node " + domain + " started"
                    : "queuing for node " + domain + " starts in " + Math.max(1, wait.toSeconds()) + " s (one run in " + every.toSeconds() + " s)");
        }
    }

    private void run(String domain, String who) {
        synchronized (schedules) {
            schedules.get(domain).waiting = false;
        }
        LOG.info("ETRN {} from {}: the mail queued for it is tried now", domain, who);
        try {
            flush.flush(domain);
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("ETRN {} from {}: the queue run failed: {}", domain, who, LogText.safe(e));
        }
    }

    /** Stops: a run in progress is interrupted, a scheduled one never starts. */
    @Override
    public void close() {
        runner.shutdownNow();
        try {
            runner.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
