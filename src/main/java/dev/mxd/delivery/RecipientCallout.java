package dev.mxd.delivery;

import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.MxResolver;
import dev.mxd.mail.RecipientVerifier;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.RecipientProbe;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.SessionFailure;
import dev.mxd.smtp.client.TlsPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recipient verification for backup domains (Postfix's reject_unverified_recipient): asks the best
 * reachable MX host that is better than this node whether it takes a recipient, with MAIL FROM:&lt;&gt;
 * and RCPT TO, and keeps the answer in a {@link VerificationCache}. The MX plan is the one remote
 * delivery uses, next hop included ({@link MxResolver} leaves only the hosts better than this node;
 * {@link RouteSelector} lists their addresses), so a probe goes where this node's mail for the domain would go. Probes run
 * on a small pool of their own, never on the caller's thread, and each verification ends within
 * {@code limit}; several clients asking for one address at once share one probe.
 */
public final class RecipientCallout implements RecipientVerifier, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RecipientCallout.class);

    private final MxResolver resolver;
    private final RouteSelector routes;
    private final NextHop.Routing routing;
    private final ClientSettings client;
    private final VerificationCache cache;
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();
    private final Duration limit;
    private final ThreadPoolExecutor pool;
    /**
     * The MX plan looks of kept answers ({@link #stillRouted}): threads of their own, so that they never queue behind
     * probes that wait for a slow primary (a known recipient's RCPT would wait with them).
     */
    private final ThreadPoolExecutor planPool;
    private final Map<String, CompletableFuture<Verdict>> running = new ConcurrentHashMap<>();
    private final AtomicInteger probes = new AtomicInteger();

    /**
     * @param routing    the next hop of each domain, as remote delivery has it (delivery.routes, relay-host),
     *                   so that a probe asks where the domain's mail would go (Postfix's address_verify_relayhost
     *                   and address_verify_transport_maps default to the delivery settings too)
     * @param client     the delivery client's settings; each of its time limits is cut to {@code limit}
     * @param limit      the most a verification takes, probe included (the client waits this long at most)
     * @param threads    probes at once; more wait in a bounded queue, beyond it "cannot tell"
     */
    public RecipientCallout(MxResolver resolver, RouteSelector routes, NextHop.Routing routing, ClientSettings client,
                            VerificationCache cache, Duration limit, int threads) {
        this(resolver, routes, routing, client, cache, limit, threads, named());
    }

    /** With the threads that probe made by {@code factory} (tests: one that cannot start a thread). */
    RecipientCallout(MxResolver resolver, RouteSelector routes, NextHop.Routing routing, ClientSettings client,
                     VerificationCache cache, Duration limit, int threads, ThreadFactory factory) {
        this.resolver = resolver;
        this.routes = routes;
        this.routing = routing;
        this.client = client.withTimeouts(ClientSettings.Timeouts.all(limit));
        this.cache = cache;
        this.limit = limit;
        this.pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(threads * 16), factory);
        pool.allowCoreThreadTimeOut(true);
        this.planPool = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256), factory);
        planPool.allowCoreThreadTimeOut(true);
    }

    private static ThreadFactory named() {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "mxd-verify-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public CompletionStage<Verdict> verify(Mailbox recipient, String domain, Duration positiveExpire, Duration negativeExpire) {
        // The local part as sent, not folded: a primary may tell John from john (RFC 5321 §2.4), and a refusal of
        // one must not be cached for the other.
        String key = recipient.localPart() + "@" + recipient.domainKey();
        var cached = cache.get(key);
        if (cached.isPresent() && cached.get() instanceof Verdict.Exists) {
            return stillRouted(domain, cached.get());
        }
        if (cached.isPresent()) {
            return CompletableFuture.completedFuture(cached.get());
        }
        CompletableFuture<Verdict> mine = new CompletableFuture<>();
        long asked = generation.get(); // a reload that moves the next hop meanwhile: this answer is not kept
        CompletableFuture<Verdict> shared = running.putIfAbsent(key, mine);
        if (shared != null) {
            return shared;
        }
        long deadline = System.nanoTime() + limit.toNanos();
        try {
            CompletableFuture.supplyAsync(() -> probe(recipient, domain, deadline, mine), pool)
                    .completeOnTimeout(new Verdict.Unknown("no answer from a better MX within " + limit.toSeconds() + " s"),
                            limit.toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(e -> new Verdict.Unknown("the verification failed: " + LogText.safe(e)))
                    .thenAccept(v -> {
                        if (generation.get() == asked) {
                            cache.put(key, v, positiveExpire, negativeExpire);
                        }
                        running.remove(key, mine);
                        mine.complete(v);
                    });
        } catch (RejectedExecutionException e) {
            running.remove(key, mine);
            mine.complete(new Verdict.Unknown("too many verifications at once"));
        } catch (RuntimeException | Error e) {
            // no thread for the probe (the JVM cannot start one): an unknown verdict, not a lookup
            // that never ends and answers every later RCPT to this address with 451 until a restart
            running.remove(key, mine);
            mine.complete(new Verdict.Unknown("no thread for the verification: " + LogText.safe(e)));
        }
        return mine;
    }

    /**
     * A kept "exists" stands while the domain's mail can still go to a better MX: once its MX records make this host the
     * best (its mail loops back here, 5.4.6), or the domain has a null MX or is gone, the recipient is refused now as an
     * unknown one is, rather than taken and bounced to a sender nobody checked (backscatter). The MX plan is looked up off
     * the caller's thread (the DNS answer is usually cached); no answer within the verification's time, or no thread for
     * the look (more than 256 waiting), keeps the verdict.
     */
    private CompletionStage<Verdict> stillRouted(String domain, Verdict exists) {
        try {
            return CompletableFuture.supplyAsync(() -> {
                        return undeliverable(RemoteDeliveryAgent.plan(resolver, routing, routes.port(), domain)).orElse(exists);
                    }, planPool)
                    .completeOnTimeout(exists, limit.toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(e -> exists);
        } catch (RuntimeException | Error e) {
            return CompletableFuture.completedFuture(exists); // no thread for the look: the verdict kept stands
        }
    }

    /**
     * The domain's mail cannot go anywhere for good (a loop back to this host, a null MX, no such domain): delivery would
     * bounce it at once, so the client hears 5xx now, not 450 for days of retries and then the bounce. Not through a
     * relay host or route: one that cannot be resolved is the operator's to mend, and delivery holds the mail for it.
     */
    private static Optional<Verdict> undeliverable(RemoteDeliveryAgent.Plan hop) {
        MxOutcome outcome = hop.outcome();
        if (outcome instanceof MxOutcome.Routes || !outcome.permanent() || hop.relay().isPresent()) {
            return Optional.empty();
        }
        return Optional.of(new Verdict.Undeliverable(outcome.error().orElse(outcome.kind()), outcome.status()));
    }

    /** The least time one address of several is given, of the verification's budget. */
    private static final long SHARE_FLOOR = Duration.ofSeconds(2).toNanos();

    /**
     * Forgets the answers kept: a reload moved the route or relay host they were asked of, and an
     * answer of the old next hop (a refusal kept for hours, an acceptance for days) would stand for
     * the new one. A probe still running then is not shared with later recipients, and its answer
     * is not kept. The answers from now on are asked of the next hops {@code routing} names (kept in
     * the cache's file).
     */
    public void forgetAnswers(String routing) {
        generation.incrementAndGet();
        running.clear();
        cache.clear(routing);
    }

    /** Probes sent so far (cache hits send none). */
    public int probes() {
        return probes.get();
    }

    /**
     * Asks the better MX hosts in turn until one answers the RCPT. {@code deadline} was set when the
     * verification was asked for: a probe that waited in the queue past it, or whose caller has its
     * answer already, is not sent, and each connection gets only the time left.
     */
    private Verdict probe(Mailbox recipient, String domain, long deadline, CompletableFuture<Verdict> caller) {
        if (caller.isDone() || System.nanoTime() >= deadline) {
            return new Verdict.Unknown("no time left to ask a better MX");
        }
        RemoteDeliveryAgent.Plan hop = RemoteDeliveryAgent.plan(resolver, routing, routes.port(), domain);
        MxOutcome outcome = hop.outcome();
        if (!(outcome instanceof MxOutcome.Routes plan)) {
            return undeliverable(hop).orElseGet(() -> new Verdict.Unknown("no better MX to ask: "
                    + outcome.error().orElse(outcome.kind())));
        }
        List<String> tried = new ArrayList<>();
        // each address once: two MX names on one machine are one server to ask
        List<MxRoute> all = new ArrayList<>();
        java.util.Set<java.net.InetSocketAddress> seen = new java.util.HashSet<>();
        for (MxRoute r : routes.all(plan, hop.port())) {
            if (!seen.add(r.socketAddress())) {
                continue;
            }
            Optional<HostStatusTable.Status> down = routes.postponed(r);
            if (down.isPresent()) {
                // Delivery passes it over after a failure: the question would not be answered either, and each RCPT
                // would wait for a dead primary's connect timeout (a backup's normal state while its primary is down).
                tried.add(r + " failed recently, not asked before " + down.get().retryAt() + " (" + down.get().lastError() + ")");
            } else {
                all.add(r);
            }
        }
        // A host found to be this node by its greeting (behind a NAT): it and every host not better are not asked, as
        // delivery would not send to them (RFC 5321 §5.1); a worse MX's answer is not the primary's.
        int loopAt = Integer.MAX_VALUE;
        for (int i = 0; i < all.size(); i++) {
            MxRoute route = all.get(i);
            long left = deadline - System.nanoTime();
            if (left <= 0 || caller.isDone()) {
                break;
            }
            if (route.preference() >= loopAt) {
                continue;
            }
            probes.incrementAndGet();
            // Each address gets its share of the time left (at least 2 s, or all of it): a first address that hangs (an
            // IPv6 address that drops packets) took the whole budget, and the working one was never asked.
            long share = Math.max(Math.min(left, SHARE_FLOOR), left / (all.size() - i));
            ClientSettings timed = client.withTimeouts(ClientSettings.Timeouts.all(Duration.ofNanos(share)));
            OpenResult opened = RemoteDeliveryAgent.open(route, timed, routes.port());
            if (opened instanceof OpenResult.Failed f && f.failure().tlsFailed() && client.tls() == TlsPolicy.OPPORTUNISTIC) {
                opened = RemoteDeliveryAgent.open(route, timed.withTls(TlsPolicy.NONE), routes.port());
            }
            if (opened instanceof OpenResult.Failed f) {
                tried.add(f.failure().detail());
                if (f.failure().cause() == SessionFailure.Cause.LOOP) {
                    loopAt = route.preference();
                }
                continue;
            }
            try (SmtpConnection c = ((OpenResult.Ready) opened).connection()) {
                // As delivery sends it: as written to a server that offers SMTPUTF8, else with the domain in A-labels (only a
                // UTF-8 local part then needs SMTPUTF8)
                Mailbox asked = c.extensions().offers("SMTPUTF8") ? recipient : recipient.toAscii().orElse(recipient);
                RecipientProbe answer = c.probeRecipient(asked.toString());
                if (answer instanceof RecipientProbe.Unanswered u) {
                    tried.add(u.reason());
                    continue;
                }
                var reply = ((RecipientProbe.Answered) answer).reply();
                LOG.info("verify: <{}> at {}: {}", LogText.safe(recipient.toString()), route, LogText.safe(reply.summary()));
                if (reply.positive()) {
                    return new Verdict.Exists();
                }
                if (reply.permanentFailure() && aboutTheRecipient(reply)) {
                    return new Verdict.Refused(reply);
                }
                return new Verdict.Unknown(route.host() + " answered " + reply.summary());
            }
        }
        String why = tried.isEmpty() ? "no better MX host could be tried" : "no better MX answered (" + String.join("; ", tried) + ")";
        LOG.info("verify: <{}>: {}", LogText.safe(recipient.toString()), LogText.safe(why));
        return new Verdict.Unknown(why);
    }

    /**
     * Whether a 5xx to the probe's RCPT says the recipient does not exist, not that the primary refuses
     * this node (a block list, a rate limit, a policy on the null sender: 5.7.x and the like). Only the
     * former may become a 550 and a cached refusal; the rest is "cannot tell" (450), as Postfix answers
     * unverified recipients with 450 by default (unverified_recipient_reject_code). Recipient statuses are
     * RFC 3463's addressing ones (5.1.x but the sender's 5.1.7 and 5.1.8) and a disabled mailbox (5.2.1);
     * a reply with no enhanced status counts when its code is 550, 551 or 553 (RFC 5321 §4.2.3).
     */
    static boolean aboutTheRecipient(SmtpReply reply) {
        return reply.enhancedStatus()
                .map(s -> s.statusClass() == 5 && (s.subject() == 1 && s.detail() != 7 && s.detail() != 8
                        || s.subject() == 2 && s.detail() == 1))
                .orElse(reply.code() == 550 || reply.code() == 551 || reply.code() == 553);
    }

    @Override
    public void close() {
        planPool.shutdownNow();
        pool.shutdownNow();
        cache.close(); // the known recipients written for the next start
    }
}
