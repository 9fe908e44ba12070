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

    /** After a failed fetch, the domain's policy is not fetched again for this long (its cached policy, if any, is used). */
    static final Duration FETCH_BACKOFF = Duration.ofMinutes(5);

    private final DnsClient dns;
    private final PolicyFetcher fetcher;
    private final WebPki pki;
    private final StsPolicyCache cache;
    private final Clock clock;
    private final Object[] locks = new Object[64];
    private final Map<String, Instant> failedFetches = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Instant> eldest) {
            return size() > 10_000;
        }
    };

    public MtaSts(DnsClient dns, PolicyFetcher fetcher, WebPki pki, StsPolicyCache cache, Clock clock) {
        this.dns = dns;
        this.fetcher = fetcher;
        this.pki = pki;
        this.cache = cache;
        this.clock = clock;
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new Object();
        }
    }

    /**
     * MTA-STS for a node: trust from {@code caFile} (else the JDK's), policies cached under {@code dir}
     * (at most 100,000 domains), fetched on port 443 with a 10 s connect timeout and 30 s for the whole fetch.
     */
    public static MtaSts start(DnsClient dns, Path dir, Optional<Path> caFile, Clock clock) throws IOException {
        WebPki pki = WebPki.of(caFile);
        return new MtaSts(dns, new PolicyFetcher(dns, pki, 443, Duration.ofSeconds(10), Duration.ofSeconds(30)), pki,
                StsPolicyCache.open(dir, 100_000, clock), clock);
    }

    @Override
    public ForDomain forDomain(Destination destination, MxOutcome.Routes routes) {
        if (destination.relayed()) {
            return host -> new HostTls.Opportunistic();
        }
        Optional<StsPolicy> found = policy(destination.domain().toLowerCase(Locale.ROOT));
        if (found.isEmpty() || found.get().mode() == StsPolicy.Mode.NONE) {
            return host -> new HostTls.Opportunistic();
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
     * a failed fetch keeps the cached policy.
     */
    public Optional<StsPolicy> policy(String domain) {
        synchronized (locks[Math.floorMod(domain.hashCode(), locks.length)]) {
            Optional<StsPolicyCache.Entry> cached = cache.get(domain);
            StsRecord record = StsRecord.lookup(dns, domain);
            if (!(record instanceof StsRecord.Present present)) {
                if (cached.isPresent()) {
                    LOG.debug("{}: {}; keeping the cached MTA-STS policy id {}", domain, reason(record), cached.get().id());
                }
                return cached.map(StsPolicyCache.Entry::policy);
            }
            if (cached.isPresent() && cached.get().id().equals(present.id())) {
                return Optional.of(cached.get().policy());
            }
            Instant now = clock.instant();
            Instant failed;
            synchronized (failedFetches) {
                failed = failedFetches.get(domain);
            }
            if (failed != null && failed.plus(FETCH_BACKOFF).isAfter(now)) {
                return cached.map(StsPolicyCache.Entry::policy);
            }
            try {
                String text = fetcher.fetch(domain);
                StsPolicy policy = StsPolicy.parse(text);
                StsPolicyCache.Entry entry = new StsPolicyCache.Entry(domain, present.id(), now, policy);
                try {
                    cache.put(entry);
                } catch (IOException e) {
                    LOG.warn("{}: cannot cache the MTA-STS policy: {}", domain, e.toString());
                }
                LOG.info("{}: MTA-STS policy id {} fetched: mode {}, mx {}, max_age {}", domain, present.id(), policy.mode().text(),
                        policy.mx(), policy.maxAge());
                synchronized (failedFetches) {
                    failedFetches.remove(domain);
                }
                return Optional.of(policy);
            } catch (PolicyFetcher.FetchFailed | StsPolicy.Invalid e) {
                LOG.warn("{}: MTA-STS policy id {} {}: {}{}", domain, present.id(),
                        e instanceof StsPolicy.Invalid ? "is invalid" : "could not be fetched", LogText.safe(e.getMessage()),
                        cached.map(c -> "; keeping the cached policy id " + c.id()).orElse("; delivering without a policy"));
                synchronized (failedFetches) {
                    failedFetches.put(domain, now);
                }
                return cached.map(StsPolicyCache.Entry::policy);
            }
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
        } catch (PolicyFetcher.FetchFailed e) {
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
