package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MtaSts#policy}'s decisions with a settable clock, a TXT record each test sets and a policy source
 * each test scripts: when the cached policy is used, when it is fetched again, what a failure keeps.
 */
class MtaStsTest {

    @TempDir
    Path dir;

    final Instant t0 = Instant.parse("2026-12-03T12:00:00Z");
    final SettableClock clock = new SettableClock(t0);
    final AtomicReference<StsRecord> txt = new AtomicReference<>(new StsRecord.Present("1"));
    final AtomicInteger fetches = new AtomicInteger();
    /** What the next fetches give: a policy text, or null for a failed fetch. */
    final AtomicReference<String> serving = new AtomicReference<>(policy("enforce", 86400));

    /** a.test's one MX host, its plan, and mail to it. */
    static final dev.mxd.dns.MxHost HOST = new dev.mxd.dns.MxHost(10, "mx.a.test", java.util.List.of(), java.util.List.of());
    static final dev.mxd.dns.MxOutcome.Routes ROUTES = new dev.mxd.dns.MxOutcome.Routes(dev.mxd.dns.MailDomain.parse("a.test"),
            false, java.util.List.of(HOST), java.util.List.of(), java.util.List.of());
    static final TlsPolicies.Destination TO = new TlsPolicies.Destination("a.test", false);

    static String policy(String mode, long maxAge) {
        return "version: STSv1\nmode: " + mode + "\nmx: mx.a.test\nmax_age: " + maxAge + "\n";
    }

    private MtaSts sts(StsPolicyCache cache) {
        return new MtaSts(domain -> txt.get(), domain -> {
            fetches.incrementAndGet();
            String text = serving.get();
            if (text == null) {
                throw new PolicyFetcher.FetchFailed("sts-policy-fetch-error", "connection refused", null);
            }
            return text;
        }, null, cache, clock);
    }

    private MtaSts sts() throws Exception {
        return sts(StsPolicyCache.open(dir, 100, clock));
    }

    @Test
    void aPolicyInUseIsRefreshedBeforeItsMaxAgeRunsOut() throws Exception {
        // review finding 1: the cached policy used to lapse at fetch + max_age, then a failed fetch meant no policy
        MtaSts sts = sts();
        assertThat(sts.policy("a.test")).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE));
        for (int hour = 1; hour <= 23; hour++) {
            clock.set(t0.plus(Duration.ofHours(hour)));
            if (hour == 14) {
                serving.set(null); // the policy server goes away after the refresh at half max_age
            }
            assertThat(sts.policy("a.test")).isPresent();
        }
        clock.set(t0.plusSeconds(86401));
        assertThat(sts.policy("a.test")).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE));
        assertThat(fetches.get()).as("the first fetch, the refresh at 12 h, failed retries every 5 minutes at most").isGreaterThanOrEqualTo(2);
    }

    @Test
    void theCachedPolicyIsUsedWhileTheIdStaysAndFetchedAgainWhenItChanges() throws Exception {
        MtaSts sts = sts();
        assertThat(sts.policy("a.test")).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE));
        clock.set(t0.plus(Duration.ofHours(1)));
        assertThat(sts.policy("a.test")).isPresent();
        assertThat(fetches.get()).isEqualTo(1);

        txt.set(new StsRecord.Present("2"));
        serving.set(policy("testing", 86400));
        assertThat(sts.policy("a.test")).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo(StsPolicy.Mode.TESTING));
        assertThat(fetches.get()).isEqualTo(2);

        txt.set(new StsRecord.Absent("no _mta-sts.a.test TXT record")); // §5.1: a valid cached policy outlives its record
        assertThat(sts.policy("a.test")).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo(StsPolicy.Mode.TESTING));
        assertThat(fetches.get()).isEqualTo(2);
    }

    @Test
    void aFailedFetchKeepsTheCachedPolicyOrGivesNoneAndIsRetriedAfterTheBackoff() throws Exception {
        serving.set(null);
        MtaSts sts = sts();
        assertThat(sts.policy("a.test")).isEmpty();
        clock.set(t0.plus(MtaSts.FETCH_BACKOFF).minusSeconds(1));
        assertThat(sts.policy("a.test")).isEmpty();
        assertThat(fetches.get()).as("no second fetch within the backoff").isEqualTo(1);

        serving.set(policy("enforce", 86400));
        clock.set(t0.plus(MtaSts.FETCH_BACKOFF));
        assertThat(sts.policy("a.test")).isPresent();
        assertThat(fetches.get()).isEqualTo(2);

        txt.set(new StsRecord.Present("2"));
        serving.set(null);
        assertThat(sts.policy("a.test")).as("the cached policy id 1").hasValueSatisfying(p -> assertThat(p.maxAge()).isEqualTo(86400));
    }

    @Test
    void aNewPolicyIdIsFetchedAtOnceEvenWhileTheOldOneIsBackedOff() throws Exception {
        // review finding 11: the backoff was per domain, so a corrected policy waited 5 minutes
        serving.set(null);
        MtaSts sts = sts();
        assertThat(sts.policy("a.test")).isEmpty();
        txt.set(new StsRecord.Present("2"));
        serving.set(policy("enforce", 86400));
        clock.set(t0.plusSeconds(10));
        assertThat(sts.policy("a.test")).hasValueSatisfying(p -> assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE));
    }

    @Test
    void anyExceptionFromTheFetchIsAFailedFetch() throws Exception {
        // review finding 4: an IllegalArgumentException escaped to the delivery and deferred the whole message
        StsPolicyCache cache = StsPolicyCache.open(dir, 100, clock);
        MtaSts sts = new MtaSts(domain -> txt.get(), domain -> {
            throw new IllegalArgumentException("not a TLS server name");
        }, null, cache, clock);
        assertThat(sts.policy("a_b.test")).isEmpty();
    }

    @Test
    void aPolicyTheDiskCannotKeepIsStillKeptInMemory() throws Exception {
        // review finding 10: a failed save used to drop the policy, so every delivery fetched it again
        Path cacheDir = dir.resolve("cache");
        StsPolicyCache cache = StsPolicyCache.open(cacheDir, 100, clock);
        Files.delete(cacheDir);
        Files.writeString(cacheDir, "not a directory"); // writes fail, whoever runs the test
        MtaSts sts = sts(cache);
        assertThat(sts.policy("a.test")).isPresent();
        assertThat(sts.policy("a.test")).isPresent();
        assertThat(fetches.get()).isEqualTo(1);
    }

    @Test
    void aSlowFetchForOneDomainDoesNotHoldUpAnotherDomainsCachedPolicy() throws Exception {
        // review finding 2: one of 64 striped locks was held across the fetch, also for cache hits
        StsPolicyCache cache = StsPolicyCache.open(dir, 100, clock);
        String a = "a.test";
        String b = null;
        for (int i = 0; i < 10_000 && b == null; i++) {
            String candidate = "b" + i + ".test";
            if (Math.floorMod(candidate.hashCode(), 64) == Math.floorMod(a.hashCode(), 64)) {
                b = candidate; // the same stripe the old lock array used
            }
        }
        assertThat(b).isNotNull();
        String slow = b;
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(1);
        MtaSts sts = new MtaSts(domain -> txt.get(), domain -> {
            if (domain.equals(slow)) {
                started.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS); // until the cached answer below has been given
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return policy("enforce", 86400);
        }, null, cache, clock);
        assertThat(sts.policy(a)).isPresent();
        CompletableFuture<Optional<StsPolicy>> stalled = CompletableFuture.supplyAsync(() -> sts.policy(slow));
        try {
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            long start = System.nanoTime();
            assertThat(sts.policy(a)).isPresent();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not behind the stalled fetch").isLessThan(Duration.ofSeconds(10));
        } finally {
            release.countDown();
        }
        assertThat(stalled.get(10, TimeUnit.SECONDS)).isPresent();
    }

    /**
     * A policy that cannot be known now (announced but not fetched, or the TXT lookup failed, nothing cached) is told
     * apart from no policy at all, so that REQUIRETLS mail waits for it instead of being returned.
     */
    @Test
    void aPolicyThatCannotBeKnownNowIsNotTheSameAsNone() throws Exception {
        dev.mxd.dns.MxHost host = HOST;
        dev.mxd.dns.MxOutcome.Routes routes = ROUTES;
        TlsPolicies.Destination to = TO;
        serving.set(null);
        MtaSts sts = sts();
        assertThat(sts.forDomain(to, routes).forHost(host)).satisfies(d -> assertThat(((HostTls.Opportunistic) d).policyUnknown()).isTrue());
        txt.set(new StsRecord.Unknown("SERVFAIL"));
        assertThat(sts.forDomain(to, routes).forHost(host)).isEqualTo(new HostTls.Opportunistic(true));
        txt.set(new StsRecord.Absent("no TXT record"));
        assertThat(sts.forDomain(to, routes).forHost(host)).isEqualTo(new HostTls.Opportunistic(false));
    }

    /**
     * RFC 8460 §4.3.2.2, RFC 8461 §6: a policy the TXT record announces that cannot be fetched or read is
     * reported for each session it leaves without one, under policy type sts with the failure's result type
     * (it was counted as a success under no-policy-found), also while the failed fetch is not retried.
     */
    @Test
    void aPolicyThatCannotBeFetchedOrReadIsReportedAsSuch() throws Exception {
        dev.mxd.dns.MxHost host = HOST;
        dev.mxd.dns.MxOutcome.Routes routes = ROUTES;
        TlsPolicies.Destination to = TO;
        MtaSts webpki = new MtaSts(domain -> txt.get(), domain -> {
            throw new PolicyFetcher.FetchFailed("sts-webpki-invalid", "certificate not trusted", null);
        }, null, StsPolicyCache.open(dir, 100, clock), clock);
        for (int i = 0; i < 2; i++) { // the second within the back-off: no fetch, the same failure
            HostTls d = webpki.forDomain(to, routes).forHost(host);
            assertThat(d.policy().type()).isEqualTo("sts");
            assertThat(((HostTls.Opportunistic) d).policyFailure()).hasValueSatisfying(f ->
                    assertThat(f.resultType()).isEqualTo("sts-webpki-invalid"));
        }
        serving.set("version: STSv1\nmode: strict\n");
        HostTls invalid = sts(StsPolicyCache.open(dir.resolve("other"), 100, clock)).forDomain(to, routes).forHost(host);
        assertThat(((HostTls.Opportunistic) invalid).policyFailure()).hasValueSatisfying(f ->
                assertThat(f.resultType()).isEqualTo("sts-policy-invalid"));
        assertThat(TlsPolicies.inOrder(java.util.List.of((dest, r) -> h -> new HostTls.Opportunistic(), (dest, r) -> h -> invalid))
                .forDomain(to, routes).forHost(host).policy().type()).as("kept through the order of policies").isEqualTo("sts");

        txt.set(new StsRecord.Absent("no TXT record"));
        assertThat(webpki.forDomain(to, routes).forHost(host).policy().type()).isEqualTo("no-policy-found");
    }

    /**
     * RFC 8461 §3.4: mail routed to a smart host found by MX follows the smart host domain's policy (it
     * went out with opportunistic TLS); a relay host named as such ([host]) has no policy domain.
     */
    @Test
    void aRelayFoundByMxFollowsItsOwnDomainsPolicy() throws Exception {
        MtaSts sts = new MtaSts(domain -> domain.equals("relay.test") ? new StsRecord.Present("1") : new StsRecord.Absent("none"),
                domain -> "version: STSv1\nmode: enforce\nmx: mx.relay.test\nmax_age: 86400\n", WebPki.of(Optional.empty()),
                StsPolicyCache.open(dir, 100, clock), clock);
        dev.mxd.dns.MxHost good = new dev.mxd.dns.MxHost(10, "mx.relay.test", java.util.List.of(), java.util.List.of());
        dev.mxd.dns.MxHost other = new dev.mxd.dns.MxHost(20, "backup.elsewhere.test", java.util.List.of(), java.util.List.of());
        dev.mxd.dns.MxOutcome.Routes routes = new dev.mxd.dns.MxOutcome.Routes(dev.mxd.dns.MailDomain.parse("relay.test"), false,
                java.util.List.of(good, other), java.util.List.of(), java.util.List.of());
        TlsPolicies.ForDomain viaMx = sts.forDomain(new TlsPolicies.Destination("a.test", true, Optional.of("relay.test")), routes);
        assertThat(viaMx.forHost(good)).isInstanceOf(HostTls.Authenticated.class);
        assertThat(viaMx.forHost(other)).isInstanceOf(HostTls.Unusable.class);
        assertThat(sts.forDomain(new TlsPolicies.Destination("a.test", true), routes).forHost(other))
                .as("[host]: no policy domain").isInstanceOf(HostTls.Opportunistic.class);
    }
}
