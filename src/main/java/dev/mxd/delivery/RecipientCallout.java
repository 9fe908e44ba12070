package dev.mxd.delivery;

import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.MxResolver;
import dev.mxd.mail.RecipientVerifier;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.RecipientProbe;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.TlsPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recipient verification for backup domains (Postfix's reject_unverified_recipient): asks the best
 * reachable MX host that is better than this node whether it takes a recipient, with MAIL FROM:&lt;&gt;
 * and RCPT TO, and keeps the answer in a {@link VerificationCache}. The MX plan is the one remote
 * delivery uses ({@link MxResolver} leaves only the hosts better than this node; {@link RouteSelector}
 * lists their addresses), so a probe goes where this node's mail for the domain would go. Probes run
 * on a small pool of their own, never on the caller's thread, and each verification ends within
 * {@code limit}; several clients asking for one address at once share one probe.
 */
public final class RecipientCallout implements RecipientVerifier, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RecipientCallout.class);

    private final MxResolver resolver;
    private final RouteSelector routes;
    private final ClientSettings client;
    private final VerificationCache cache;
    private final Duration limit;
    private final ThreadPoolExecutor pool;
    private final Map<String, CompletableFuture<Verdict>> running = new ConcurrentHashMap<>();
    private final AtomicInteger probes = new AtomicInteger();

    /**
     * @param client     the delivery client's settings; each of its time limits is cut to {@code limit}
     * @param limit      the most a verification takes, probe included (the client waits this long at most)
     * @param threads    probes at once; more wait in a bounded queue, beyond it "cannot tell"
     */
    public RecipientCallout(MxResolver resolver, RouteSelector routes, ClientSettings client, VerificationCache cache,
                            Duration limit, int threads) {
        this.resolver = resolver;
        this.routes = routes;
        this.client = client.withTimeouts(ClientSettings.Timeouts.all(limit));
        this.cache = cache;
        this.limit = limit;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(threads * 16), r -> {
            Thread t = new Thread(r, "mxd-verify-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
    }

    @Override
    public CompletionStage<Verdict> verify(Mailbox recipient, String domain, Duration positiveExpire, Duration negativeExpire) {
        String key = recipient.localKey() + "@" + recipient.domainKey();
        var cached = cache.get(key);
        if (cached.isPresent()) {
            return CompletableFuture.completedFuture(cached.get());
        }
        CompletableFuture<Verdict> mine = new CompletableFuture<>();
        CompletableFuture<Verdict> shared = running.putIfAbsent(key, mine);
        if (shared != null) {
            return shared;
        }
        try {
            CompletableFuture.supplyAsync(() -> probe(recipient, domain), pool)
                    .completeOnTimeout(new Verdict.Unknown("no answer from a better MX within " + limit.toSeconds() + " s"),
                            limit.toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(e -> new Verdict.Unknown("the verification failed: " + LogText.safe(e)))
                    .thenAccept(v -> {
                        cache.put(key, v, positiveExpire, negativeExpire);
                        running.remove(key, mine);
                        mine.complete(v);
                    });
        } catch (RejectedExecutionException e) {
            running.remove(key, mine);
            mine.complete(new Verdict.Unknown("too many verifications at once"));
        }
        return mine;
    }

    /** Probes sent so far (cache hits send none). */
    public int probes() {
        return probes.get();
    }

    private Verdict probe(Mailbox recipient, String domain) {
        long deadline = System.nanoTime() + limit.toNanos();
        MxOutcome outcome = resolver.resolve(domain);
        if (!(outcome instanceof MxOutcome.Routes plan)) {
            return new Verdict.Unknown("no better MX to ask: " + outcome.error().orElse(outcome.kind()));
        }
        List<String> tried = new ArrayList<>();
        for (MxRoute route : routes.all(plan)) {
            if (System.nanoTime() >= deadline) {
                break;
            }
            probes.incrementAndGet();
            OpenResult opened = SmtpConnection.open(route.socketAddress(), route.host(), client);
            if (opened instanceof OpenResult.Failed f && f.failure().tlsFailed() && client.tls() == TlsPolicy.OPPORTUNISTIC) {
                opened = SmtpConnection.open(route.socketAddress(), route.host(), client.withTls(TlsPolicy.NONE));
            }
            if (opened instanceof OpenResult.Failed f) {
                tried.add(f.failure().detail());
                continue;
            }
            try (SmtpConnection c = ((OpenResult.Ready) opened).connection()) {
                RecipientProbe answer = c.probeRecipient(recipient.toString());
                if (answer instanceof RecipientProbe.Unanswered u) {
                    tried.add(u.reason());
                    continue;
                }
                var reply = ((RecipientProbe.Answered) answer).reply();
                LOG.info("verify: <{}> at {}: {}", LogText.safe(recipient.toString()), route, LogText.safe(reply.summary()));
                if (reply.positive()) {
                    return new Verdict.Exists();
                }
                if (reply.permanentFailure()) {
                    return new Verdict.Refused(reply);
                }
                return new Verdict.Unknown(route.host() + " answered " + reply.summary());
            }
        }
        String why = tried.isEmpty() ? "no better MX host could be tried" : "no better MX answered (" + String.join("; ", tried) + ")";
        LOG.info("verify: <{}>: {}", LogText.safe(recipient.toString()), LogText.safe(why));
        return new Verdict.Unknown(why);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
