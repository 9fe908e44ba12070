package dev.mxd.tls;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.MxOutcome;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.client.ServerAuthentication;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MTA-STS (RFC 8461) as a {@link TlsPolicies}: per domain, the policy from the cache or, when there is
 * none or the {@code _mta-sts} TXT record's id changed, fetched now, before the delivery goes on (§3.3,
 * §5.1). {@code enforce}: MX hosts outside the policy's {@code mx} are {@link HostTls.Unusable}, the
 * others {@link HostTls.Authenticated} by the Web PKI; {@code testing}: {@link HostTls.Tested};
 * {@code none} or no policy: opportunistic. Mail sent through a relay host is not the domain's MX, so
 * MTA-STS does not apply to it.
 */
public final class MtaSts implements TlsPolicies {

    private static final Logger LOG = LoggerFactory.getLogger(MtaSts.class);

    /** After a failed fetch of a policy id, that id is not fetched again for this long (its cached policy, if any, is used). */
    static final Duration FETCH_BACKOFF = Duration.ofMinutes(5);

    /** A cached policy is fetched again once it is this old, or half its max_age, whichever is sooner (RFC 8461 §3.3, §10). */
    static final Duration REFRESH = Duration.ofDays(1);

    /** Where a policy body comes from: {@link PolicyFetcher#fetch} outside tests. */
    @FunctionalInterface
    interface Source {
        String fetch(String domain) throws PolicyFetcher.FetchFailed;
    }

    private final Function<String, StsRecord> records;
    private final Source source;
    private final WebPki pki;
    private final StsPolicyCache cache;
    private final Clock clock;
    /** The fetch running for a domain; other deliveries to it wait for that one instead of fetching again. */
    private final ConcurrentHashMap<String, CompletableFuture<Known>> running = new ConcurrentHashMap<>();
    /** When a domain's policy id last failed to fetch, and why, keyed by domain and id. */
    private final Map<String, FailedFetch> failedFetches = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, FailedFetch> eldest) {
            return size() > 10_000;
        }
    };

    public MtaSts(DnsClient dns, PolicyFetcher fetcher, WebPki pki, StsPolicyCache cache, Clock clock) {
        this(domain -> StsRecord.lookup(dns, domain), fetcher::fetch, pki, cache, clock);
    }

    MtaSts(Function<String, StsRecord> records, Source source, WebPki pki, StsPolicyCache cache, Clock clock) {
        this.records = records;
        this.source = source;
        this.pki = pki;
        this.cache = cache;
        this.clock = clock;
    }

    /**
     * MTA-STS for a node: trust from {@code pki} (delivery.tls.ca-file, else the JDK's), policies cached under {@code dir}
     * (at most 100,000 domains), fetched on port 443 with a 10 s connect timeout and 30 s for the whole fetch.
     */
    public static MtaSts start(DnsClient dns, Path dir, WebPki pki, Clock clock) throws IOException {
        return new MtaSts(dns, new PolicyFetcher(dns, pki, 443, Duration.ofSeconds(10), Duration.ofSeconds(30)), pki,
                StsPolicyCache.open(dir, 100_000, clock), clock);
    }

    @Override
    public ForDomain forDomain(Destination destination, MxOutcome.Routes routes) {
        if (destination.relayed() && destination.relayDomain().isEmpty()) {
            return host -> new HostTls.Opportunistic(); // a relay host named as such ([host]): no policy domain to ask
        }
        // RFC 8461 §3.4: mail to a smart host found by MX follows the smart host domain's policy.
        String policyDomain = destination.relayDomain().orElse(destination.domain());
        Known known = known(policyDomain.toLowerCase(Locale.ROOT));
        Optional<StsPolicy> found = known.policy();
        if (found.isEmpty() || found.get().mode() == StsPolicy.Mode.NONE) {
            boolean unknown = found.isEmpty() && known.unknown();
            // RFC 8460 §4.3.2.2, RFC 8461 §6: a policy the TXT record announces that could not be fetched or read is
            // reported (sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid) for each session it left without one.
            Optional<TlsResults.Failure> failure = found.isEmpty() ? known.failure() : Optional.empty();
            return host -> new HostTls.Opportunistic(unknown, failure);
        }
        StsPolicy policy = found.get();
        HostTls.ReportedPolicy reported = policy.reported();
        if (policy.mode() == StsPolicy.Mode.TESTING) {
            return host -> new HostTls.Tested(testing(policy), reported);
        }
        ServerAuthentication pkix = pki.mxAuthentication();
        return host -> policy.matches(host.name()) ? new HostTls.Authenticated(pkix, reported)
                : new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE, "MX host " + host.name()
                        + " is not among the MTA-STS policy's mx " + policy.mx() + " (RFC 8461 §4.1)", "validation-failure", reported);
    }

    /** In testing mode a host outside the mx patterns is reported as a validation failure, then checked like the others. */
    private ServerAuthentication testing(StsPolicy policy) {
        ServerAuthentication pkix = pki.mxAuthentication();
        return new ServerAuthentication() {
            @Override
            public String method() {
                return pkix.method();
            }

            @Override
            public String verify(List<X509Certificate> chain, String host) throws Rejected {
                if (!policy.matches(host)) {
                    throw new Rejected("validation-failure", "MX host " + host + " is not among the MTA-STS policy's mx " + policy.mx());
                }
                return pkix.verify(chain, host);
            }
        };
    }

    /**
     * The policy delivery to {@code domain} follows now: the cached one while the TXT record's id is the
     * same (or the record cannot be read, or is gone: §5.1 keeps a valid cached policy), else a fresh fetch;
     * a cached policy older than {@link #REFRESH} (or half its max_age) is fetched again, and kept when
     * that fails, so that a policy in use does not lapse at its max_age (§3.3, §10). A failed fetch keeps
     * the cached policy, and that policy id is not fetched again for {@link #FETCH_BACKOFF}. Cache hits take
     * no lock; concurrent deliveries to one domain share one fetch.
     */
    public Optional<StsPolicy> policy(String domain) {
        return known(domain).policy();
    }

    /**
     * The policy to follow, and whether the lack of one is only for now: the domain's TXT lookup failed, or it
     * announces a policy that could not be fetched or read, and nothing is cached.
     */
    record Known(Optional<StsPolicy> policy, boolean unknown, Optional<TlsResults.Failure> failure) {
        Known(Optional<StsPolicy> policy, boolean unknown) {
            this(policy, unknown, Optional.empty());
        }
    }

    /** A failed fetch: when, and as RFC 8460 names it. */
    private record FailedFetch(Instant at, TlsResults.Failure why) {}

    private Known known(String domain) {
        Optional<StsPolicyCache.Entry> cached = cache.get(domain);
        StsRecord record = records.apply(domain);
        if (!(record instanceof StsRecord.Present)) {
            if (cached.isPresent()) {
                LOG.debug("{}: {}; keeping the cached MTA-STS policy id {}", domain, reason(record), cached.get().id());
            }
            return new Known(cached.map(StsPolicyCache.Entry::policy), record instanceof StsRecord.Unknown);
        }
        return fetched(domain, (StsRecord.Present) record, cached);
    }

    private Known fetched(String domain, StsRecord.Present present, Optional<StsPolicyCache.Entry> cached) {
        Instant now = clock.instant();
        if (cached.isPresent() && cached.get().id().equals(present.id()) && now.isBefore(refreshAt(cached.get()))) {
            return new Known(Optional.of(cached.get().policy()), false);
        }
        String key = domain + " " + present.id();
        FailedFetch failed;
        synchronized (failedFetches) {
            failed = failedFetches.get(key);
        }
        if (failed != null && failed.at().plus(FETCH_BACKOFF).isAfter(now)) {
            return keeping(cached, failed.why());
        }
        CompletableFuture<Known> mine = new CompletableFuture<>();
        CompletableFuture<Known> other = running.putIfAbsent(domain, mine);
        if (other != null) {
            return other.join(); // the fetch ends by the fetcher's own deadline
        }
        try {
            Known result = fetch(domain, present.id(), key, cached, now);
            mine.complete(result);
            return result;
        } finally {
            running.remove(domain, mine);
            mine.complete(keeping(cached, new TlsResults.Failure("sts-policy-fetch-error", "the fetch failed"))); // only after an Error
        }
    }

    /** After a failed fetch: the cached policy when there is one, else none, known to be unknown, with why. */
    private static Known keeping(Optional<StsPolicyCache.Entry> cached, TlsResults.Failure why) {
        Optional<StsPolicy> policy = cached.map(StsPolicyCache.Entry::policy);
        return new Known(policy, policy.isEmpty(), Optional.of(why));
    }

    /** When a cached policy is fetched again: after {@link #REFRESH} or half its max_age, whichever comes first. */
    static Instant refreshAt(StsPolicyCache.Entry entry) {
        Duration half = Duration.ofSeconds(entry.policy().maxAge() / 2);
        return entry.fetched().plus(half.compareTo(REFRESH) < 0 ? half : REFRESH);
    }

    private Known fetch(String domain, String id, String key, Optional<StsPolicyCache.Entry> cached, Instant now) {
        try {
            String text = source.fetch(domain);
            StsPolicy policy = StsPolicy.parse(text);
            StsPolicyCache.Entry entry = new StsPolicyCache.Entry(domain, id, now, policy);
            try {
                cache.put(entry);
            } catch (IOException e) {
                LOG.warn("{}: cannot save the MTA-STS policy to disk (kept in memory): {}", domain, e.toString());
            }
            LOG.info("{}: MTA-STS policy id {} {}: mode {}, mx {}, max_age {}", domain, id,
                    cached.isPresent() && cached.get().id().equals(id) ? "refreshed" : "fetched", policy.mode().text(), policy.mx(),
                    policy.maxAge());
            synchronized (failedFetches) {
                failedFetches.remove(key);
            }
            return new Known(Optional.of(policy), false);
        } catch (PolicyFetcher.FetchFailed | StsPolicy.Invalid | RuntimeException e) {
            LOG.warn("{}: MTA-STS policy id {} {}: {}{}", domain, id,
                    e instanceof StsPolicy.Invalid ? "is invalid" : "could not be fetched", LogText.safe(String.valueOf(e.getMessage())),
                    cached.map(c -> "; keeping the cached policy id " + c.id()).orElse("; delivering without a policy"));
            String type = e instanceof PolicyFetcher.FetchFailed f ? f.resultType()
                    : e instanceof StsPolicy.Invalid ? "sts-policy-invalid" : "sts-policy-fetch-error";
            TlsResults.Failure why = new TlsResults.Failure(type, "the MTA-STS policy id " + id + " of " + domain
                    + (e instanceof StsPolicy.Invalid ? " is invalid: " : " could not be fetched: ") + e.getMessage());
            synchronized (failedFetches) {
                failedFetches.put(key, new FailedFetch(now, why));
            }
            return keeping(cached, why);
        }
    }

    /**
     * What a domain publishes now, without a cache: {@code mxd lookup} and {@code mxd check} show it.
     *
     * @param policy the policy, when the TXT record names one and it was fetched and valid
     * @param detail a sentence: the policy id, or why there is none
     * @param failed true when the domain announces a policy (TXT) that could not be fetched or read
     */
    public record Published(Optional<StsPolicy> policy, String detail, boolean failed) {}

    /** Looks up {@code domain}'s TXT record and fetches its policy through {@code fetcher}. */
    public static Published published(DnsClient dns, PolicyFetcher fetcher, String domain) {
        StsRecord record = StsRecord.lookup(dns, domain);
        if (!(record instanceof StsRecord.Present present)) {
            return new Published(Optional.empty(), reason(record), record instanceof StsRecord.Unknown);
        }
        try {
            StsPolicy policy = StsPolicy.parse(fetcher.fetch(domain));
            return new Published(Optional.of(policy), "policy id " + present.id(), false);
        } catch (PolicyFetcher.FetchFailed | RuntimeException e) {
            return new Published(Optional.empty(), "policy id " + present.id() + " could not be fetched: " + e.getMessage(), true);
        } catch (StsPolicy.Invalid e) {
            return new Published(Optional.empty(), "policy id " + present.id() + " is invalid: " + e.getMessage(), true);
        }
    }

    private static String reason(StsRecord record) {
        if (record instanceof StsRecord.Absent a) {
            return a.reason();
        }
        return record instanceof StsRecord.Unknown u ? u.reason() : "";
    }
}
