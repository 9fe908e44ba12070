package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.AuthoritativeDns;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import dev.mxd.smtp.AddressText;

/**
 * Every rule of MX resolution (RFC 5321 §5.1, RFC 7505, RFC 2181 §10.3), checked against a
 * real authoritative server serving src/test/resources/zones/resolver. Subclasses choose the server.
 */
@PeerTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class MxResolutionContract {

    static final Path ZONES = Paths.get("src/test/resources/zones/resolver");

    private AuthoritativeDns dns;

    /** Starts the server with these zones (origin → file). */
    abstract AuthoritativeDns start(Map<String, Path> zones) throws Exception;

    /** Zones that fail to load answer SERVFAIL (Knot); mxd dns refuses to start instead. */
    abstract boolean answersServfailForBrokenZones();

    @BeforeAll
    void startServer() throws Exception {
        Map<String, Path> zones = new LinkedHashMap<>();
        zones.put("mx.test", ZONES.resolve("mx.test.zone"));
        if (answersServfailForBrokenZones()) {
            zones.put("broken.test", ZONES.resolve("broken.test.zone"));
        }
        dns = start(zones);
    }

    @AfterAll
    void stopServer() {
        if (dns != null) {
            dns.close();
        }
    }

    MxResolver resolver(MxPolicy policy) {
        return new MxResolver(new DnsClient(DnsSettings.of(List.of(dns.address()))), policy);
    }

    MxOutcome resolve(String domain) {
        return resolver(MxPolicy.defaults()).resolve(domain);
    }

    static MxOutcome.Routes routes(MxOutcome outcome) {
        assertThat(outcome).as(outcome.error().orElse("")).isInstanceOf(MxOutcome.Routes.class);
        return (MxOutcome.Routes) outcome;
    }

    static List<String> names(MxOutcome.Routes r) {
        return r.hosts().stream().map(MxHost::name).collect(Collectors.toList());
    }

    static List<String> addresses(MxHost h) {
        return h.addresses().stream().map(AddressText::of).collect(Collectors.toList());
    }

    @Test
    void multiplePreferencesAreTriedLowestFirst() {
        MxOutcome.Routes r = routes(resolve("multi.mx.test"));
        assertThat(r.implicit()).isFalse();
        assertThat(names(r)).containsExactly("a.multi.mx.test", "b.multi.mx.test", "c.multi.mx.test");
        assertThat(r.hosts()).extracting(MxHost::preference).containsExactly(10, 20, 30);
        assertThat(addresses(r.hosts().get(0))).containsExactly("127.0.1.1");
        assertThat(addresses(r.hosts().get(2))).containsExactly("::1", "127.0.1.3");
        assertThat(r.skipped()).isEmpty();
        assertThat(r.warnings()).isEmpty();
    }

    @Test
    void addressOrderFollowsPolicy() {
        MxHost c = routes(resolver(MxPolicy.defaults().withAddressOrder(AddressOrder.IPV4_FIRST))
                .resolve("multi.mx.test")).hosts().get(2);
        assertThat(addresses(c)).containsExactly("127.0.1.3", "::1");
        MxHost v4 = routes(resolver(MxPolicy.defaults().withAddressOrder(AddressOrder.IPV4_ONLY))
                .resolve("multi.mx.test")).hosts().get(2);
        assertThat(addresses(v4)).containsExactly("127.0.1.3");
        MxOutcome v6only = resolver(MxPolicy.defaults().withAddressOrder(AddressOrder.IPV6_ONLY)).resolve("multi.mx.test");
        assertThat(names(routes(v6only))).containsExactly("c.multi.mx.test");
        assertThat(v6only.skipped()).extracting(SkippedHost::name).containsExactly("a.multi.mx.test", "b.multi.mx.test");
    }

    @Test
    void equalPreferencesAreShuffledUniformlyOnEveryResolution() {
        MxResolver resolver = resolver(MxPolicy.defaults());
        int rounds = 4000;
        Map<String, int[]> positions = new HashMap<>();
        for (int i = 0; i < rounds; i++) {
            List<String> order = names(routes(resolver.resolve("shuffle.mx.test")));
            assertThat(order).hasSize(5);
            assertThat(order.get(4)).isEqualTo("backup.shuffle.mx.test");
            for (int p = 0; p < 4; p++) {
                positions.computeIfAbsent(order.get(p), k -> new int[4])[p]++;
            }
        }
        assertThat(positions.keySet()).containsExactlyInAnyOrder(
                "s1.shuffle.mx.test", "s2.shuffle.mx.test", "s3.shuffle.mx.test", "s4.shuffle.mx.test");
        // Each host at each position about 1/4 of the time: expected 1000, sd ≈ 27; allow ±150 (5.5 sd).
        for (Map.Entry<String, int[]> e : positions.entrySet()) {
            for (int p = 0; p < 4; p++) {
                assertThat(e.getValue()[p]).as(e.getKey() + " at position " + p).isBetween(850, 1150);
            }
        }
    }

    @Test
    void implicitMxWithAOnly() {
        MxOutcome.Routes r = routes(resolve("implicit4.mx.test"));
        assertThat(r.implicit()).isTrue();
        assertThat(r.hosts()).singleElement().satisfies(h -> {
            assertThat(h.preference()).isZero();
            assertThat(h.name()).isEqualTo("implicit4.mx.test");
            assertThat(addresses(h)).containsExactly("127.0.3.1");
        });
    }

    @Test
    void implicitMxWithAaaaOnly() {
        MxOutcome.Routes r = routes(resolve("implicit6.mx.test"));
        assertThat(r.implicit()).isTrue();
        assertThat(addresses(r.hosts().get(0))).containsExactly("::1");
    }

    @Test
    void implicitMxWithBoth() {
        MxOutcome.Routes r = routes(resolve("implicit46.mx.test"));
        assertThat(r.implicit()).isTrue();
        assertThat(addresses(r.hosts().get(0))).containsExactly("::1", "127.0.3.2");
    }

    /** Issue 15 point 5: a relay host written [host] is that host's addresses, never its MX. */
    @Test
    void aHostIsResolvedByItsAddressesWithoutMx() {
        MxOutcome.Routes r = routes(resolver(MxPolicy.defaults()).resolveHost("c.multi.mx.test"));
        assertThat(names(r)).containsExactly("c.multi.mx.test");
        assertThat(addresses(r.hosts().get(0))).containsExactlyInAnyOrder("127.0.1.3", "::1");
        MxOutcome mxOnly = resolver(MxPolicy.defaults()).resolveHost("multi.mx.test");
        assertThat(mxOnly).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(mxOnly.error()).get().asString().contains("multi.mx.test has no A or AAAA records");
        assertThat(resolver(MxPolicy.defaults().withLocalNames(List.of("c.multi.mx.test"))).resolveHost("c.multi.mx.test"))
                .isInstanceOf(MxOutcome.LoopsToSelf.class);
    }

    /**
     * Addresses only of the family address-order leaves out: the domain is not one without addresses (which bounced
     * 5.1.2, "no A or AAAA records"), and an exchange skipped for it says why; the mail waits, as for any exchange whose
     * addresses cannot be used.
     */
    @Test
    void addressesOnlyOfTheFamilyTheOrderLeavesOutAreToldAsSuch() {
        MxOutcome v6 = resolver(MxPolicy.defaults().withAddressOrder(AddressOrder.IPV4_ONLY)).resolve("implicit6.mx.test");
        assertThat(v6).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(((MxOutcome.TemporaryFailure) v6).reason()).contains("has only IPv6 (AAAA) addresses, which address-order ipv4 does not use");
        assertThat(((MxOutcome.TemporaryFailure) v6).status().toString()).isEqualTo("4.4.4");
        MxOutcome v4 = resolver(MxPolicy.defaults().withAddressOrder(AddressOrder.IPV6_ONLY)).resolve("implicit4.mx.test");
        assertThat(((MxOutcome.TemporaryFailure) v4).reason()).contains("has only IPv4 (A) addresses, which address-order ipv6 does not use");
        MxOutcome exchanges = resolver(MxPolicy.defaults().withAddressOrder(AddressOrder.IPV6_ONLY)).resolve("multi.mx.test");
        assertThat(exchanges.skipped()).extracting(SkippedHost::reason).allSatisfy(r -> assertThat(r).contains("has only IPv4 (A) addresses"));
        assertThat(resolver(MxPolicy.defaults().withAddressOrder(AddressOrder.IPV4_ONLY)).resolve("nothing.mx.test"))
                .as("no addresses of either family").isInstanceOf(MxOutcome.NotMailEnabled.class);
        MxOutcome zero = resolve("zeroimplicit.mx.test");
        assertThat(zero).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(((MxOutcome.TemporaryFailure) zero).reason()).contains("the unspecified address 0.0.0.0");
    }

    @Test
    void noMxAndNoAddressIsNotMailEnabled() {
        MxOutcome o = resolve("nothing.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.NotMailEnabled.class);
        assertThat(o.permanent()).isTrue();
        assertThat(o.kind()).isEqualTo("not-mail-enabled");
    }

    @Test
    void nullMxIsPermanentFailure() {
        MxOutcome o = resolve("nullmx.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.NullMx.class);
        assertThat(o.permanent()).isTrue();
        assertThat(o.status()).hasToString("5.1.10");
        assertThat(o.error()).get().asString().contains("null MX");
    }

    @Test
    void nullMxAmongRealMxIsIgnoredWithWarning() {
        MxOutcome.Routes r = routes(resolve("mixednull.mx.test"));
        assertThat(names(r)).containsExactly("real.mixednull.mx.test");
        assertThat(r.warnings()).anySatisfy(w -> assertThat(w).contains("null MX"));
    }

    @Test
    void nxdomainIsPermanentFailure() {
        MxOutcome o = resolve("no-such-name.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.NoSuchDomain.class);
        assertThat(o.permanent()).isTrue();
        assertThat(o.status()).hasToString("5.1.2");
    }

    @Test
    void servfailIsTemporaryFailure() {
        org.junit.jupiter.api.Assumptions.assumeTrue(answersServfailForBrokenZones(),
                "this server refuses to start with a broken zone instead of answering SERVFAIL");
        MxOutcome o = resolve("broken.test");
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.permanent()).isFalse();
        assertThat(o.error()).get().asString().contains("SERVFAIL");
    }

    @Test
    void refusedIsTemporaryFailure() {
        MxOutcome o = resolve("somewhere-else.example");
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.permanent()).isFalse();
        assertThat(o.error()).get().asString().contains("REFUSED");
    }

    @Test
    void noServerListeningIsTemporaryFailureWithinFifteenSeconds() throws Exception {
        InetSocketAddress dead = new InetSocketAddress("127.0.0.1", FreePort.tcpAndUdp("127.0.0.1"));
        MxResolver r = new MxResolver(new DnsClient(DnsSettings.of(List.of(dead))), MxPolicy.defaults());
        long start = System.nanoTime();
        MxOutcome o = r.resolve("multi.mx.test");
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(took).isLessThan(Duration.ofSeconds(15));
    }

    @Test
    void cnameExchangeIsFollowedWithWarningWhenLenient() {
        MxOutcome.Routes r = routes(resolve("cnamemx.mx.test"));
        assertThat(names(r)).containsExactly("alias.cnamemx.mx.test", "plain.cnamemx.mx.test");
        MxHost alias = r.hosts().get(0);
        assertThat(addresses(alias)).containsExactly("127.0.5.1");
        assertThat(alias.warnings()).anySatisfy(w -> assertThat(w).contains("CNAME").contains("real.cnamemx.mx.test"));
        assertThat(r.hosts().get(1).warnings()).isEmpty();
    }

    @Test
    void cnameExchangeIsSkippedWhenStrict() {
        MxOutcome.Routes r = routes(resolver(MxPolicy.defaults().withStrictCnames(true)).resolve("cnamemx.mx.test"));
        assertThat(names(r)).containsExactly("plain.cnamemx.mx.test");
        assertThat(r.skipped()).singleElement().satisfies(s -> {
            assertThat(s.name()).isEqualTo("alias.cnamemx.mx.test");
            assertThat(s.reason()).contains("CNAME").contains("RFC 2181");
        });
    }

    @Test
    void ipLiteralExchangeIsSkippedWithReason() {
        MxOutcome.Routes r = routes(resolve("literal.mx.test"));
        assertThat(names(r)).containsExactly("ok.literal.mx.test");
        assertThat(r.skipped()).singleElement().satisfies(s -> {
            assertThat(s.name()).isEqualTo("127.0.0.9");
            assertThat(s.reason()).contains("IP address");
        });
    }

    @Test
    void exchangesWithoutAddressesAreSkippedWithReasons() {
        MxOutcome.Routes r = routes(resolve("noaddr.mx.test"));
        assertThat(names(r)).containsExactly("ok.noaddr.mx.test");
        assertThat(r.skipped()).extracting(SkippedHost::name).containsExactly("ghost.noaddr.mx.test", "empty.noaddr.mx.test");
        assertThat(r.skipped().get(0).reason()).contains("NXDOMAIN");
        assertThat(r.skipped().get(1).reason()).contains("no A or AAAA");
    }

    @Test
    void noExchangeWithAnAddressIsTemporaryFailure() {
        MxOutcome o = resolve("allnoaddr.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.permanent()).isFalse();
        assertThat(o.status()).hasToString("4.4.4");
        assertThat(o.skipped()).hasSize(2);
    }

    @Test
    void selfAsBestExchangeLoopsBackToMyself() {
        MxOutcome o = resolver(MxPolicy.defaults().withLocalNames(List.of("H1.Self.MX.test."))).resolve("self.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.LoopsToSelf.class);
        assertThat(o.status()).hasToString("5.4.6");
        assertThat(o.error()).get().asString().contains("loops back to myself");
    }

    /**
     * An exchange whose address is one at which this host takes mail is this host under another
     * name (Postfix's inet_interfaces check): it and every exchange not better than it are dropped,
     * and when nothing better is left the mail loops back to myself, 5.4.6, without a connection.
     */
    @Test
    void anExchangeWithOneOfThisHostsAddressesIsThisHostUnderAnotherName() throws Exception {
        MxPolicy h2 = MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.8.2")));
        MxOutcome.Routes r = routes(resolver(h2).resolve("self.mx.test"));
        assertThat(names(r)).containsExactly("h1.self.mx.test");
        assertThat(r.skipped()).extracting(SkippedHost::name).containsExactlyInAnyOrder("h2.self.mx.test", "h2b.self.mx.test", "h3.self.mx.test");
        assertThat(r.skipped()).filteredOn(s -> s.cause() == SkippedHost.Cause.LOCAL).extracting(SkippedHost::name)
                .containsExactly("h2.self.mx.test");

        MxPolicy h1 = MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.8.1")));
        MxOutcome best = resolver(h1).resolve("self.mx.test");
        assertThat(best).isInstanceOf(MxOutcome.LoopsToSelf.class);
        assertThat(best.status()).hasToString("5.4.6");
        assertThat(best.error()).get().asString().contains("loops back to myself");

        MxPolicy implicitSelf = MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.3.1")));
        assertThat(resolver(implicitSelf).resolve("implicit4.mx.test")).isInstanceOf(MxOutcome.LoopsToSelf.class);
        MxPolicy relaySelf = MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.1.3")));
        assertThat(resolver(relaySelf).resolveHost("c.multi.mx.test")).isInstanceOf(MxOutcome.LoopsToSelf.class);
        assertThat(routes(resolver(MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("127.9.9.9"))))
                .resolve("self.mx.test")).hosts()).as("another address: nothing dropped").hasSize(4);
        // A better exchange that cannot be tried now: the backup holds the mail (temporary), never bounces it as a loop.
        MxOutcome held = resolver(h2).resolve("held.mx.test");
        assertThat(held).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(held.permanent()).isFalse();
        assertThat(resolver(h2).onOtherPort(10025).resolve("self.mx.test")).as("a hop on another port: not this server")
                .isInstanceOf(MxOutcome.Routes.class);
    }

    /**
     * A listener on the wildcard address takes every loopback address, not only the 127.0.0.1 an
     * interface lists, and a connection to 0.0.0.0 reaches it too: an exchange at 127.0.0.2 or
     * 0.0.0.0 is this host (domains whose MX points at localhost), 5.4.6 rather than a relay to
     * itself. Without such a listener 127.0.0.2 is another server, and 0.0.0.0 is never tried.
     */
    @Test
    void loopbackAndUnspecifiedExchangesAreThisHostBehindAWildcardListener() throws Exception {
        MxPolicy wildcard = MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("0.0.0.0"),
                java.net.InetAddress.getByName("127.0.0.1")));
        for (String domain : List.of("lo.mx.test", "unspec.mx.test")) {
            MxOutcome o = resolver(wildcard).resolve(domain);
            assertThat(o).as(domain).isInstanceOf(MxOutcome.LoopsToSelf.class);
            assertThat(o.status()).hasToString("5.4.6");
        }
        MxPolicy both = MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("::")));
        assertThat(resolver(both).resolve("lo.mx.test")).as("[::] takes IPv4 too").isInstanceOf(MxOutcome.LoopsToSelf.class);

        MxPolicy specific = MxPolicy.defaults().withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.0.5")));
        assertThat(names(routes(resolver(specific).resolve("lo.mx.test")))).as("another loopback listener: 127.0.0.2 is not mxd")
                .containsExactly("h.lo.mx.test", "h3.self.mx.test");
        MxOutcome.Routes r = routes(resolver(MxPolicy.defaults()).resolve("unspec.mx.test"));
        assertThat(names(r)).as("0.0.0.0 names no host").containsExactly("h3.self.mx.test");
        assertThat(r.skipped()).singleElement().satisfies(s -> {
            assertThat(s.name()).isEqualTo("h.unspec.mx.test");
            assertThat(s.reason()).contains("unspecified address 0.0.0.0");
        });
    }

    /** RFC 5321 §5.1 before RFC 2181 §10.3: an alias of this host skipped as an alias would leave the backup, which relays back. */
    @Test
    void anAliasOfThisHostIsThisHostEvenWhenAliasesAreRefused() throws Exception {
        MxPolicy strictSelf = MxPolicy.defaults().withStrictCnames(true)
                .withLocalAddresses(List.of(java.net.InetAddress.getByName("127.0.8.2")));
        MxOutcome o = resolver(strictSelf).resolve("aliasself.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.LoopsToSelf.class);
        assertThat(routes(resolver(MxPolicy.defaults().withStrictCnames(true)).resolve("aliasself.mx.test")).hosts())
                .as("not this host: the alias is skipped, the backup used").extracting(MxHost::name).containsExactly("h3.self.mx.test");
    }

    /**
     * RFC 5321 §5.1 by name through a CNAME: an exchange that is an alias of one of this host's names is this host, and
     * so is an implicit MX whose domain is such an alias. The names were compared as the MX record wrote them only: the
     * alias was tried (lenient; itself) or skipped for the worse exchange (strict), and the implicit MX routed to itself.
     */
    @Test
    void anAliasOfOneOfThisHostsNamesIsThisHost() {
        for (boolean strict : List.of(false, true)) {
            MxPolicy self = MxPolicy.defaults().withStrictCnames(strict).withLocalNames(List.of("real.cnamemx.mx.test"));
            MxOutcome o = resolver(self).resolve("cnamemx.mx.test");
            assertThat(o).as("strict " + strict).isInstanceOf(MxOutcome.LoopsToSelf.class);
            assertThat(((MxOutcome.LoopsToSelf) o).skipped()).extracting(SkippedHost::name)
                    .containsExactly("alias.cnamemx.mx.test", "plain.cnamemx.mx.test");
        }
        assertThat(names(routes(resolver(MxPolicy.defaults().withLocalNames(List.of("elsewhere.mx.test"))).resolve("cnamemx.mx.test"))))
                .as("another name: both exchanges").containsExactly("alias.cnamemx.mx.test", "plain.cnamemx.mx.test");
        assertThat(resolver(MxPolicy.defaults().withLocalNames(List.of("implicit4.mx.test"))).resolve("aliasimplicit.mx.test"))
                .isInstanceOf(MxOutcome.LoopsToSelf.class);
        assertThat(names(routes(resolve("aliasimplicit.mx.test")))).containsExactly("aliasimplicit.mx.test");
    }

    @Test
    void selfInTheMiddleKeepsOnlyBetterExchanges() {
        for (String self : List.of("h2.self.mx.test", "h2b.self.mx.test")) {
            MxOutcome.Routes r = routes(resolver(MxPolicy.defaults().withLocalNames(List.of(self))).resolve("self.mx.test"));
            assertThat(names(r)).as("local name " + self).containsExactly("h1.self.mx.test");
            assertThat(r.skipped()).extracting(SkippedHost::name)
                    .containsExactlyInAnyOrder("h2.self.mx.test", "h2b.self.mx.test", "h3.self.mx.test");
        }
    }

    @Test
    void selfLastKeepsAllBetterExchanges() {
        MxOutcome.Routes r = routes(resolver(MxPolicy.defaults().withLocalNames(List.of("h3.self.mx.test"))).resolve("self.mx.test"));
        assertThat(r.hosts()).extracting(MxHost::name).hasSize(3).startsWith("h1.self.mx.test")
                .containsExactlyInAnyOrder("h1.self.mx.test", "h2.self.mx.test", "h2b.self.mx.test");
        assertThat(r.skipped()).extracting(SkippedHost::name).containsExactly("h3.self.mx.test");
    }

    @Test
    void selfAsImplicitMxLoopsBackToMyself() {
        MxOutcome o = resolver(MxPolicy.defaults().withLocalNames(List.of("implicit4.mx.test"))).resolve("implicit4.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.LoopsToSelf.class);
    }

    @Test
    void domainThatIsAnAliasUsesTheCanonicalNamesMx() {
        MxOutcome.Routes r = routes(resolve("aliasdomain.mx.test"));
        assertThat(names(r)).containsExactly("a.multi.mx.test", "b.multi.mx.test", "c.multi.mx.test");
    }

    @Test
    void cnameLoopAtAnExchangeIsReported() {
        MxOutcome o = resolve("loopmx.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.skipped()).singleElement().satisfies(s -> assertThat(s.reason()).contains("CNAME loop"));
    }

    @Test
    void cnameChainsAreBounded() {
        MxOutcome o = resolve("longchain.mx.test");
        assertThat(o).isInstanceOf(MxOutcome.TemporaryFailure.class);
        assertThat(o.error()).get().asString().contains("longer than 8");
    }

    @Test
    void largeMxSetComesWholeOverTcp() {
        MxOutcome.Routes r = routes(resolve("big.mx.test"));
        assertThat(r.hosts()).hasSize(60);
        assertThat(r.hosts()).extracting(MxHost::preference).isSorted();
        assertThat(r.hosts().get(0).name()).isEqualTo("exchange-number-01-with-a-long-name.big.mx.test");
        assertThat(r.hosts().get(59).name()).isEqualTo("exchange-number-60-with-a-long-name.big.mx.test");
    }

    @Test
    void internationalisedDomainIsAskedInALabels() {
        MxOutcome.Routes r = routes(resolve("bücher.mx.test"));
        assertThat(r.domain().given()).isEqualTo("bücher.mx.test");
        assertThat(r.domain().ascii()).isEqualTo("xn--bcher-kva.mx.test");
        assertThat(names(r)).containsExactly("mail.xn--bcher-kva.mx.test");
    }

    @Test
    void mixedCaseAndTrailingDotAreNormalised() {
        MxOutcome.Routes r = routes(resolve("MuLtI.Mx.TeSt."));
        assertThat(r.domain().ascii()).isEqualTo("multi.mx.test");
        assertThat(names(r)).containsExactly("a.multi.mx.test", "b.multi.mx.test", "c.multi.mx.test");
    }

    @Test
    void everyAddressIsAnInetAddressOfTheRightFamily() {
        MxOutcome.Routes r = routes(resolve("multi.mx.test"));
        Set<Class<?>> kinds = r.hosts().stream().flatMap(h -> h.addresses().stream())
                .map(InetAddress::getClass).collect(Collectors.toSet());
        assertThat(kinds).containsExactlyInAnyOrder(java.net.Inet4Address.class, java.net.Inet6Address.class);
    }
}
