package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RouteSelectorTest {

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-26T10:00:00Z"));
    private final InstantSource clock = () -> now.get();
    private final HostStatusTable table = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 100, clock);

    private static InetAddress ip(String a) throws Exception {
        return InetAddress.getByName(a);
    }

    private MxOutcome.Routes plan() throws Exception {
        return new MxOutcome.Routes(MailDomain.parse("example.test"), false, List.of(
                new MxHost(10, "mx1.example.test", List.of(ip("127.0.0.11")), List.of()),
                new MxHost(20, "mx2.example.test", List.of(ip("127.0.0.12"), ip("::1")), List.of()),
                new MxHost(30, "mx3.example.test", List.of(ip("127.0.0.13")), List.of())), List.of(), List.of());
    }

    private void advance(Duration d) {
        now.set(now.get().plus(d));
    }

    @Test
    void routesFollowThePlanAndAreCappedAtMaxAddresses() throws Exception {
        RouteSelector.Selection all = new RouteSelector(table, 5, 2525).select(plan());
        assertThat(all.routes()).extracting(MxRoute::toString).containsExactly(
                "mx1.example.test[127.0.0.11]:2525", "mx2.example.test[127.0.0.12]:2525",
                "mx2.example.test[::1]:2525", "mx3.example.test[127.0.0.13]:2525");
        assertThat(new RouteSelector(table, 2, 25).select(plan()).routes()).extracting(MxRoute::host)
                .containsExactly("mx1.example.test", "mx2.example.test");
    }

    /**
     * A message's last attempt: the addresses an ordinary attempt takes, then those passed over (a failure inside their
     * retry time), as routes; a healthy address the ordinary attempt reaches is never crowded out by passed-over ones.
     */
    @Test
    void theLastAttemptTakesPassedOverAddressesAfterTheOrdinaryOnes() throws Exception {
        RouteSelector selector = new RouteSelector(table, 2, 25);
        table.failed(new MxRoute("mx1.example.test", 10, ip("127.0.0.11"), 25), "timeout");
        table.failed(new MxRoute("mx2.example.test", 20, ip("127.0.0.12"), 25), "timeout");
        RouteSelector.Selection ordinary = selector.select(plan());
        assertThat(ordinary.routes()).extracting(MxRoute::toString).containsExactly("mx2.example.test[::1]:25",
                "mx3.example.test[127.0.0.13]:25");
        RouteSelector.Selection last = selector.selectEvery(plan());
        assertThat(last.routes()).extracting(MxRoute::toString).containsExactly("mx2.example.test[::1]:25",
                "mx3.example.test[127.0.0.13]:25", "mx1.example.test[127.0.0.11]:25", "mx2.example.test[127.0.0.12]:25");
        assertThat(last.lastResort()).isEmpty();
    }

    /**
     * Postfix's smtp_balance_inet_protocols: a host with six AAAA and two A records and a limit of
     * five addresses gets one IPv4 address into each attempt (the first A, in the last place), so a
     * destination IPv6 cannot reach is still tried over IPv4; a list with both families within the
     * limit keeps its order.
     */
    @Test
    void bothAddressFamiliesAreTriedWithinTheLimit() throws Exception {
        MxOutcome.Routes v6heavy = new MxOutcome.Routes(MailDomain.parse("example.test"), false, List.of(
                new MxHost(10, "mx.example.test", List.of(ip("2001:db8::1"), ip("2001:db8::2"), ip("2001:db8::3"), ip("2001:db8::4"),
                        ip("2001:db8::5"), ip("2001:db8::6"), ip("192.0.2.1"), ip("192.0.2.2")), List.of())), List.of(), List.of());
        assertThat(new RouteSelector(table, 5, 25).select(v6heavy).routes()).extracting(r -> r.address().getHostAddress())
                .containsExactly("2001:db8:0:0:0:0:0:1", "2001:db8:0:0:0:0:0:2", "2001:db8:0:0:0:0:0:3", "2001:db8:0:0:0:0:0:4",
                        "192.0.2.1");
        assertThat(new RouteSelector(table, 2, 25).select(plan()).routes()).as("mx2's IPv6 address moves up")
                .extracting(r -> r.address().getHostAddress()).containsExactly("127.0.0.11", "0:0:0:0:0:0:0:1");
        assertThat(new RouteSelector(table, 3, 25).select(plan()).routes()).as("both within the limit: unchanged")
                .extracting(r -> r.address().getHostAddress()).containsExactly("127.0.0.11", "127.0.0.12", "0:0:0:0:0:0:0:1");
    }

    @Test
    void failedHostIsPostponedUntilItsRetryTimeThenTriedAgain() throws Exception {
        RouteSelector selector = new RouteSelector(table, 5, 25);
        MxRoute primary = selector.select(plan()).routes().get(0);
        table.failed(primary, "connection refused");

        RouteSelector.Selection during = selector.select(plan());
        assertThat(during.routes()).extracting(MxRoute::host).doesNotContain("mx1.example.test").first()
                .isEqualTo("mx2.example.test");
        assertThat(during.postponed()).singleElement().satisfies(s -> {
            assertThat(s.host()).isEqualTo("mx1.example.test");
            assertThat(s.lastError()).isEqualTo("connection refused");
            assertThat(s.retryAt()).isEqualTo(now.get().plusSeconds(60));
        });

        advance(Duration.ofSeconds(61));
        assertThat(selector.select(plan()).routes().get(0).host()).isEqualTo("mx1.example.test");
    }

    /**
     * A delivery holding the probe lease of an address reaches it under another MX name (MX 10 mail and MX 20
     * example.com on one machine): it may try it there too (a TLS policy that refused the first name may accept
     * the second); it was passed over as if someone else were probing, on every attempt.
     */
    @Test
    void theProbeLeaseHolderMayTryItsAddressUnderAnotherName() throws Exception {
        MxRoute first = new MxRoute("mail.example.test", 10, ip("127.0.0.11"), 25);
        MxRoute second = new MxRoute("example.test", 20, ip("127.0.0.11"), 25);
        table.failed(first, "timeout");
        advance(Duration.ofSeconds(61));
        assertThat(table.admit(first, false)).isEqualTo(HostStatusTable.Admission.PROBE);
        assertThat(table.admit(second, false)).isEqualTo(HostStatusTable.Admission.PROBE);
        java.util.concurrent.atomic.AtomicReference<HostStatusTable.Admission> elsewhere = new java.util.concurrent.atomic.AtomicReference<>();
        Thread other = new Thread(() -> elsewhere.set(table.admit(second, false)));
        other.start();
        other.join();
        assertThat(elsewhere.get()).as("another delivery waits for the probe").isEqualTo(HostStatusTable.Admission.POSTPONED);
        table.endProbe(first);
    }

    @Test
    void repeatedFailuresBackOffUpToTheMaximum() throws Exception {
        MxRoute primary = new RouteSelector(table, 5, 25).select(plan()).routes().get(0);
        assertThat(Duration.between(now.get(), table.failed(primary, "timeout").retryAt())).isEqualTo(Duration.ofSeconds(60));
        advance(Duration.ofSeconds(61)); // each later failure is one after the retry time
        assertThat(Duration.between(now.get(), table.failed(primary, "timeout").retryAt())).isEqualTo(Duration.ofSeconds(120));
        advance(Duration.ofSeconds(121));
        assertThat(Duration.between(now.get(), table.failed(primary, "timeout").retryAt())).isEqualTo(Duration.ofSeconds(240));
        for (int i = 0; i < 10; i++) {
            advance(Duration.ofMinutes(11));
            table.failed(primary, "timeout");
        }
        assertThat(Duration.between(now.get(), table.status(primary).orElseThrow().retryAt())).isEqualTo(Duration.ofMinutes(10));
    }

    /**
     * Deliveries that were connecting to an address together when it failed (a host that hung, twenty
     * deliveries at once) report one failure each: the wait stays the first one's, where each of them
     * doubled it and seven took it to the maximum, keeping a host back for an hour after one outage.
     * A probe's failure doubles it, as does the first failure after the retry time.
     */
    @Test
    void failuresOfDeliveriesAlreadyUnderwayDoNotLengthenTheWait() throws Exception {
        MxRoute primary = new RouteSelector(table, 5, 25).select(plan()).routes().get(0);
        Instant first = now.get();
        for (int i = 0; i < 8; i++) {
            table.failed(primary, "timeout " + i);
            advance(Duration.ofSeconds(1));
        }
        HostStatusTable.Status s = table.status(primary).orElseThrow();
        assertThat(s.retryAt()).isEqualTo(first.plusSeconds(60));
        assertThat(s.failures()).isEqualTo(1);
        assertThat(s.lastError()).isEqualTo("timeout 7");
        // a last-resort probe taken by another delivery: a failure of this one meanwhile is not the probe's
        java.util.concurrent.atomic.AtomicReference<HostStatusTable.Admission> taken = new java.util.concurrent.atomic.AtomicReference<>();
        Thread other = new Thread(() -> taken.set(table.admit(primary, true)));
        other.start();
        other.join();
        assertThat(taken.get()).isEqualTo(HostStatusTable.Admission.PROBE);
        table.failed(primary, "not the probe");
        assertThat(table.status(primary).orElseThrow().failures()).isEqualTo(1);
        table.endProbe(primary);
        assertThat(table.admit(primary, true)).isEqualTo(HostStatusTable.Admission.PROBE); // this delivery's own probe
        table.failed(primary, "probe failed");
        table.endProbe(primary);
        assertThat(Duration.between(now.get(), table.status(primary).orElseThrow().retryAt())).isEqualTo(Duration.ofSeconds(120));
    }

    @Test
    void successMakesAHostHealthyAtOnce() throws Exception {
        RouteSelector selector = new RouteSelector(table, 5, 25);
        MxRoute primary = selector.select(plan()).routes().get(0);
        table.failed(primary, "timeout");
        table.succeeded(primary);
        assertThat(table.snapshot()).isEmpty();
        assertThat(selector.select(plan()).routes().get(0)).isEqualTo(primary);
    }

    @Test
    void everyRoutePostponedLeavesNothingToTryNow() throws Exception {
        RouteSelector selector = new RouteSelector(table, 5, 25);
        for (MxRoute r : selector.select(plan()).routes()) {
            table.failed(r, "connection refused");
        }
        RouteSelector.Selection s = selector.select(plan());
        assertThat(s.routes()).isEmpty();
        assertThat(s.postponed()).hasSize(4);
    }

    @Test
    void tableIsBounded() throws Exception {
        HostStatusTable small = new HostStatusTable(Duration.ofSeconds(60), Duration.ofMinutes(10), 2, clock);
        for (MxRoute r : new RouteSelector(small, 5, 25).select(plan()).routes()) {
            small.failed(r, "timeout");
        }
        assertThat(small.snapshot()).hasSize(2);
    }

    @Test
    void onceItsRetryTimePassesOneDeliveryProbesTheHostAndTheOthersPassItOver() throws Exception {
        RouteSelector selector = new RouteSelector(table, 5, 25);
        MxRoute primary = selector.select(plan()).routes().get(0);
        table.failed(primary, "timeout");
        advance(Duration.ofSeconds(61));

        RouteSelector.Selection probe = selector.select(plan());
        assertThat(probe.routes().get(0)).isEqualTo(primary);
        assertThat(probe.probes()).containsExactly(primary);
        RouteSelector.Selection other = selector.select(plan());
        assertThat(other.routes()).doesNotContain(primary);
        assertThat(other.probes()).isEmpty();
        assertThat(other.lastResort()).containsExactly(primary);
        assertThat(table.admit(primary, true)).as("not even as a last resort while it is probed").isEqualTo(HostStatusTable.Admission.POSTPONED);

        table.failed(primary, "timeout again");
        table.endProbe(primary);
        assertThat(selector.select(plan()).routes()).doesNotContain(primary);
        advance(Duration.ofSeconds(121));
        assertThat(selector.select(plan()).probes()).containsExactly(primary);
        table.succeeded(primary);
        table.endProbe(primary);
        RouteSelector.Selection healthy = selector.select(plan());
        assertThat(healthy.routes().get(0)).isEqualTo(primary);
        assertThat(healthy.probes()).isEmpty();
    }

    @Test
    void aPostponedAddressIsOfferedLastAndProbedByOneDeliveryWhenNothingElseIsLeft() throws Exception {
        RouteSelector selector = new RouteSelector(table, 5, 25);
        MxRoute primary = selector.select(plan()).routes().get(0);
        table.failed(primary, "connection refused");
        RouteSelector.Selection s = selector.select(plan());
        assertThat(s.lastResort()).containsExactly(primary);
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.POSTPONED);
        assertThat(table.admit(primary, true)).isEqualTo(HostStatusTable.Admission.PROBE);
        assertThat(table.admit(primary, true)).isEqualTo(HostStatusTable.Admission.POSTPONED);
        table.endProbe(primary);
        assertThat(table.admit(primary, true)).isEqualTo(HostStatusTable.Admission.PROBE);
    }

    @Test
    void aProbeWhoseDeliveryNeverEndedItIsTakenForLostAfterTheLongestRetry() throws Exception {
        RouteSelector selector = new RouteSelector(table, 5, 25);
        MxRoute primary = selector.select(plan()).routes().get(0);
        table.failed(primary, "timeout");
        advance(Duration.ofSeconds(61));
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.PROBE);
        advance(Duration.ofMinutes(9));
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.POSTPONED);
        advance(Duration.ofMinutes(2));
        assertThat(table.admit(primary, false)).isEqualTo(HostStatusTable.Admission.PROBE);
    }

    @Test
    void addressesBeyondMaxAddressesAreNeitherTriedNorProbed() throws Exception {
        RouteSelector selector = new RouteSelector(table, 2, 25);
        List<MxRoute> all = selector.all(plan());
        table.failed(all.get(0), "timeout");
        table.failed(all.get(3), "timeout");
        advance(Duration.ofSeconds(61));
        RouteSelector.Selection s = selector.select(plan());
        assertThat(s.routes()).as("mx1, then mx2's IPv6 address (both families within the limit)").containsExactly(all.get(0), all.get(2));
        assertThat(s.probes()).containsExactly(all.get(0));
        assertThat(table.admit(all.get(3), false)).as("mx3 was not reached, so its lease is free").isEqualTo(HostStatusTable.Admission.PROBE);
    }

    @Test
    void forgetClearsOneAddressAndClearEveryOne() throws Exception {
        RouteSelector selector = new RouteSelector(table, 5, 25);
        List<MxRoute> all = selector.all(plan());
        all.forEach(r -> table.failed(r, "refused"));
        table.forget(all.get(0));
        assertThat(table.snapshot()).hasSize(3);
        assertThat(selector.select(plan()).routes()).containsExactly(all.get(0));
        table.clear();
        assertThat(table.snapshot()).isEmpty();
        assertThat(selector.select(plan()).routes()).isEqualTo(all);
    }
}
