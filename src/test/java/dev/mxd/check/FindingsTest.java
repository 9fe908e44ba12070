package dev.mxd.check;

import dev.mxd.smtp.EnhancedStatus;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.SkippedHost;
import dev.mxd.smtp.EhloExtensions;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.client.SessionFailure;
import dev.mxd.smtp.client.ProbeResult;
import dev.mxd.smtp.client.SessionStage;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class FindingsTest {

    private static final MailDomain PUBLIC = MailDomain.parse("example.org");
    private static final MailDomain TEST = MailDomain.parse("shop.test");

    private static InetAddress ip(String text) {
        try {
            return InetAddress.getByName(text); // literals only: no DNS
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static MxHost host(int pref, String name, String... addresses) {
        return new MxHost(pref, name, Arrays.stream(addresses).map(FindingsTest::ip).toList(), List.of());
    }

    private static MxOutcome.Routes routes(MailDomain d, MxHost... hosts) {
        return new MxOutcome.Routes(d, false, List.of(hosts), List.of(), List.of());
    }

    private static HostProbe reached(MxHost h, String banner, String... extensions) {
        List<String> lines = new ArrayList<>();
        lines.add(h.name());
        lines.addAll(List.of(extensions));
        SmtpReply ehlo = SmtpReply.of(250, lines);
        InetSocketAddress target = new InetSocketAddress(h.addresses().get(0), 25);
        return new HostProbe(h.name(), h.preference(), new ProbeResult.Reached(target, 3,
                SmtpReply.of(220, List.of(banner)), ehlo, true, EhloExtensions.of(ehlo)));
    }

    private static HostProbe secure(MxHost h) {
        return reached(h, h.name() + " ESMTP", "PIPELINING", "STARTTLS");
    }

    private static HostProbe failed(MxHost h, SessionStage stage, SessionFailure.Cause failure) {
        InetSocketAddress target = new InetSocketAddress(h.addresses().get(0), 25);
        return new HostProbe(h.name(), h.preference(), new ProbeResult.Failed(new SessionFailure(target, h.name(), stage, failure,
                "probe of " + h.name() + " failed: " + stage.label() + " " + failure.label(), Optional.empty()),
                OptionalLong.empty(), Optional.empty()));
    }

    private static List<Finding> of(Severity severity, List<Finding> all) {
        return all.stream().filter(f -> f.severity() == severity).toList();
    }

    private static List<String> messages(Severity severity, List<Finding> all) {
        return of(severity, all).stream().map(Finding::message).toList();
    }

    @Test
    void healthyRedundantSetUpHasNoErrorsOrWarnings() {
        MxHost a = host(10, "mx1.example.org", "192.0.2.1");
        MxHost b = host(20, "mx2.example.org", "198.51.100.1");
        List<Finding> f = Findings.of(routes(PUBLIC, a, b), List.of(secure(a), secure(b)), 25);
        assertThat(f).isEmpty();
    }

    @Test
    void nullMxIsANoteNotAnError() {
        List<Finding> f = Findings.of(new MxOutcome.NullMx(PUBLIC, List.of()), List.of(), 25);
        assertThat(f).singleElement().satisfies(x -> {
            assertThat(x.severity()).isEqualTo(Severity.NOTE);
            assertThat(x.message()).contains("null MX (RFC 7505)").contains("accepts no mail");
        });
    }

    @Test
    void nxdomainIsAnError() {
        List<Finding> f = Findings.of(new MxOutcome.NoSuchDomain(PUBLIC, List.of()), List.of(), 25);
        assertThat(messages(Severity.ERROR, f)).singleElement().asString().contains("NXDOMAIN");
    }

    @Test
    void domainWithNoMxAndNoAddressIsAnError() {
        List<Finding> f = Findings.of(new MxOutcome.NotMailEnabled(PUBLIC, List.of()), List.of(), 25);
        assertThat(messages(Severity.ERROR, f)).singleElement().asString().contains("publish MX records");
    }

    @Test
    void ipLiteralAndAddresslessExchangesAreErrorsEvenBesideAGoodOne() {
        MxHost good = host(10, "mx1.example.org", "192.0.2.1");
        MxOutcome.Routes r = new MxOutcome.Routes(PUBLIC, false, List.of(good), List.of(
                new SkippedHost(20, "192.0.2.9", "an MX must name a host", SkippedHost.Cause.IP_LITERAL),
                new SkippedHost(30, "gone.example.org", "gone.example.org does not exist (NXDOMAIN)",
                        SkippedHost.Cause.NO_ADDRESSES)), List.of());
        List<Finding> f = Findings.of(r, List.of(secure(good)), 25);
        assertThat(of(Severity.ERROR, f)).extracting(x -> x.host().orElseThrow())
                .containsExactly("192.0.2.9", "gone.example.org");
        assertThat(messages(Severity.ERROR, f).get(0)).contains("IP address 192.0.2.9").contains("RFC 5321 §5.1");
        assertThat(messages(Severity.ERROR, f).get(1)).contains("publish its A or AAAA records");
    }

    @Test
    void everyExchangeWithoutAddressesIsAnErrorNotATemporaryFailure() {
        MxOutcome.TemporaryFailure t = new MxOutcome.TemporaryFailure(PUBLIC, "no mail exchanger can be tried", EnhancedStatus.UNABLE_TO_ROUTE,
                List.of(new SkippedHost(10, "mx.example.org", "mx.example.org has no A or AAAA records",
                        SkippedHost.Cause.NO_ADDRESSES)), List.of());
        List<Finding> f = Findings.of(t, List.of(), 25);
        assertThat(Findings.dnsTemporaryFailure(t)).isFalse();
        assertThat(messages(Severity.ERROR, f)).hasSize(2).anySatisfy(m -> assertThat(m).contains("no MX host"));
    }

    @Test
    void failedDnsLookupIsATemporaryFailure() {
        MxOutcome.TemporaryFailure mxFailed = new MxOutcome.TemporaryFailure(PUBLIC, "MX lookup failed: SERVFAIL", EnhancedStatus.DNS_FAILURE,
                List.of(), List.of());
        assertThat(Findings.dnsTemporaryFailure(mxFailed)).isTrue();
        assertThat(messages(Severity.ERROR, Findings.of(mxFailed, List.of(), 25))).singleElement().asString()
                .contains("SERVFAIL").contains("run it again later");

        MxOutcome.TemporaryFailure addressFailed = new MxOutcome.TemporaryFailure(PUBLIC, "none usable", EnhancedStatus.UNABLE_TO_ROUTE,
                List.of(new SkippedHost(10, "mx.example.org", "address lookup failed for now", SkippedHost.Cause.LOOKUP_FAILED)),
                List.of());
        assertThat(Findings.dnsTemporaryFailure(addressFailed)).isTrue();
        assertThat(Findings.dnsTemporaryFailure(new MxOutcome.NoSuchDomain(PUBLIC, List.of()))).isFalse();
    }

    /** Signatures that do not validate are a fault of the zone, graded as an error, never "run it again later". */
    @Test
    void bogusMxRecordsOrHostAddressesAreErrorsNotTemporaryFailures() {
        MxOutcome.TemporaryFailure bogusMx = new MxOutcome.TemporaryFailure(PUBLIC, "the MX lookup's answer is bogus",
                EnhancedStatus.CRYPTOGRAPHIC_FAILURE, List.of(), List.of(), dev.mxd.dns.DnssecStatus.BOGUS);
        assertThat(Findings.dnsTemporaryFailure(bogusMx)).isFalse();
        assertThat(messages(Severity.ERROR, Findings.of(bogusMx, List.of(), 25))).singleElement().asString()
                .contains("do not validate (bogus").doesNotContain("run it again later");

        MxOutcome.TemporaryFailure bogusHost = new MxOutcome.TemporaryFailure(PUBLIC, "no mail exchanger can be tried",
                EnhancedStatus.UNABLE_TO_ROUTE, List.of(new SkippedHost(10, "mx.example.org",
                "the DNSSEC signatures of mx.example.org's address records do not validate (bogus, RFC 4035 §4.3)",
                SkippedHost.Cause.BOGUS)), List.of(), dev.mxd.dns.DnssecStatus.SECURE);
        assertThat(Findings.dnsTemporaryFailure(bogusHost)).isFalse();
        assertThat(messages(Severity.ERROR, Findings.of(bogusHost, List.of(), 25))).hasSize(2)
                .anySatisfy(m -> assertThat(m).contains("validating senders do not use it"))
                .noneSatisfy(m -> assertThat(m).contains("run it again later"));
    }

    @Test
    void resolverWarningsSuchAsCnameBecomeHostWarnings() {
        MxHost alias = new MxHost(10, "mail.example.org", List.of(ip("192.0.2.1")),
                List.of("mail.example.org is an alias (CNAME) for real.example.org; RFC 2181 §10.3 says ..."));
        MxHost b = host(20, "mx2.example.org", "198.51.100.1");
        List<Finding> f = Findings.of(routes(PUBLIC, alias, b), List.of(secure(alias), secure(b)), 25);
        assertThat(of(Severity.WARNING, f)).singleElement().satisfies(x -> {
            assertThat(x.host()).hasValue("mail.example.org");
            assertThat(x.message()).contains("CNAME").contains("RFC 2181 §10.3");
        });
    }

    @Test
    void nonPublicAddressesOfAPublicDomainAreWarnings() {
        String[] bad = {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1", "100.64.0.1",
                "::1", "fe80::1", "fd00::25", "fc00::1"};
        String[] fine = {"192.0.2.1", "172.32.0.1", "11.0.0.1", "2001:db8::25"};
        List<String> all = new ArrayList<>(List.of(bad));
        all.addAll(List.of(fine));
        MxHost h = host(10, "mx.example.org", all.toArray(String[]::new));
        MxHost b = host(20, "mx2.example.org", "198.51.100.1");
        List<Finding> f = Findings.of(routes(PUBLIC, h, b), List.of(), 25);
        List<String> warnings = messages(Severity.WARNING, f);
        assertThat(warnings).hasSize(bad.length);
        for (String a : bad) {
            assertThat(warnings).anySatisfy(w -> assertThat(w).contains(" has " + a + ", "));
        }
        assertThat(warnings).anySatisfy(w -> assertThat(w).contains("loopback"))
                .anySatisfy(w -> assertThat(w).contains("RFC 1918"))
                .anySatisfy(w -> assertThat(w).contains("link-local"))
                .anySatisfy(w -> assertThat(w).contains("RFC 4193"));
    }

    /**
     * Issue 2 point 5 grades loopback and private addresses whatever the domain: under a special-use name (.test,
     * home.arpa) they are expected, so a note, not a warning (it was no finding at all there).
     */
    @Test
    void nonPublicAddressesAreNotesUnderSpecialUseDomains() {
        MxHost h = host(10, "mx1.shop.test", "127.0.0.21");
        MxHost b = host(20, "mx2.shop.test", "10.0.0.2");
        List<Finding> f = Findings.of(routes(TEST, h, b), List.of(secure(h), secure(b)), 25);
        assertThat(f).allSatisfy(x -> assertThat(x.severity()).isEqualTo(Severity.NOTE));
        assertThat(messages(Severity.NOTE, f)).satisfiesExactlyInAnyOrder(
                n -> assertThat(n).contains("mx1.shop.test has 127.0.0.21, a loopback address").contains("special-use"),
                n -> assertThat(n).contains("mx2.shop.test has 10.0.0.2, ").contains("RFC 1918"));
        assertThat(dev.mxd.dns.AddressScope.isPublicDomain("corp.internal")).isFalse();
        assertThat(dev.mxd.dns.AddressScope.isPublicDomain("printer.home.arpa")).isFalse();
        assertThat(dev.mxd.dns.AddressScope.isPublicDomain("example.com")).isTrue();
    }

    @Test
    void allHostsOnOneAddressIsAWarning() {
        MxHost a = host(10, "mx1.example.org", "192.0.2.1");
        MxHost b = host(20, "mx2.example.org", "192.0.2.1");
        List<Finding> f = Findings.of(routes(PUBLIC, a, b), List.of(secure(a), secure(b)), 25);
        assertThat(messages(Severity.WARNING, f)).singleElement().asString()
                .contains("all 2 MX hosts").contains("one address 192.0.2.1");
    }

    @Test
    void singleMxIsANote() {
        MxHost a = host(10, "mx1.example.org", "192.0.2.1");
        List<Finding> f = Findings.of(routes(PUBLIC, a), List.of(secure(a)), 25);
        assertThat(f).singleElement().satisfies(x -> {
            assertThat(x.severity()).isEqualTo(Severity.NOTE);
            assertThat(x.message()).contains("only one usable MX host");
        });
    }

    @Test
    void implicitMxIsANoteAndNotAlsoASingleMxNote() {
        MxHost a = host(0, "example.org", "192.0.2.1");
        MxOutcome.Routes r = new MxOutcome.Routes(PUBLIC, true, List.of(a), List.of(), List.of());
        List<Finding> f = Findings.of(r, List.of(reached(a, "example.org ESMTP", "STARTTLS")), 25);
        assertThat(messages(Severity.NOTE, f)).singleElement().asString().contains("implicit MX (RFC 5321 §5.1)");
    }

    @Test
    void equalPreferencesAreANote() {
        MxHost a = host(10, "mx1.example.org", "192.0.2.1");
        MxHost b = host(10, "mx2.example.org", "192.0.2.2");
        MxHost c = host(20, "mx3.example.org", "192.0.2.3");
        List<Finding> f = Findings.of(routes(PUBLIC, a, b, c), List.of(secure(a), secure(b), secure(c)), 25);
        assertThat(messages(Severity.NOTE, f)).singleElement().asString()
                .contains("mx1.example.org, mx2.example.org share preference 10");
    }

    @Test
    void oneUnreachableHostIsAWarningAndAllUnreachableIsAnError() {
        MxHost a = host(10, "mx1.example.org", "192.0.2.1");
        MxHost b = host(20, "mx2.example.org", "192.0.2.2");
        List<Finding> one = Findings.of(routes(PUBLIC, a, b),
                List.of(failed(a, SessionStage.CONNECT, SessionFailure.Cause.REFUSED), secure(b)), 25);
        assertThat(of(Severity.ERROR, one)).isEmpty();
        assertThat(of(Severity.WARNING, one)).singleElement().satisfies(x -> {
            assertThat(x.host()).hasValue("mx1.example.org");
            assertThat(x.message()).contains("connect refused");
        });

        List<Finding> all = Findings.of(routes(PUBLIC, a, b), List.of(failed(a, SessionStage.CONNECT, SessionFailure.Cause.REFUSED),
                failed(b, SessionStage.GREETING, SessionFailure.Cause.REJECTED)), 2525);
        assertThat(messages(Severity.ERROR, all)).singleElement().asString()
                .contains("no MX host of example.org accepted an SMTP session on port 2525")
                .contains("tried 2 addresses of mx1.example.org, mx2.example.org");
        assertThat(of(Severity.WARNING, all)).hasSize(2);
    }

    @Test
    void missingStarttlsIsAWarning() {
        MxHost a = host(10, "mx1.example.org", "192.0.2.1");
        MxHost b = host(20, "mx2.example.org", "192.0.2.2");
        List<Finding> f = Findings.of(routes(PUBLIC, a, b),
                List.of(reached(a, "mx1.example.org ESMTP", "PIPELINING", "8BITMIME"), secure(b)), 25);
        assertThat(of(Severity.WARNING, f)).singleElement().satisfies(x -> {
            assertThat(x.host()).hasValue("mx1.example.org");
            assertThat(x.message()).contains("does not offer STARTTLS (RFC 3207)");
        });
    }

    @Test
    void greetingNamingAnotherHostIsANote() {
        MxHost a = host(10, "mx1.example.org", "192.0.2.1");
        MxHost b = host(20, "mx2.example.org", "192.0.2.2");
        List<Finding> f = Findings.of(routes(PUBLIC, a, b),
                List.of(reached(a, "node7.hosting.example ESMTP", "STARTTLS"), reached(b, "MX2.Example.ORG. ESMTP", "STARTTLS")), 25);
        assertThat(f).singleElement().satisfies(x -> {
            assertThat(x.severity()).isEqualTo(Severity.NOTE);
            assertThat(x.message()).contains("calls itself 'node7.hosting.example'");
        });
    }

    @Test
    void findingsAreSortedErrorsThenWarningsThenNotes() {
        MxHost a = host(10, "mx1.example.org", "127.0.0.1");
        MxOutcome.Routes r = new MxOutcome.Routes(PUBLIC, false, List.of(a),
                List.of(new SkippedHost(5, "10.0.0.1", "literal", SkippedHost.Cause.IP_LITERAL)), List.of("odd"));
        List<Finding> f = Findings.of(r, List.of(reached(a, "mx1.example.org", "PIPELINING")), 25);
        assertThat(f).extracting(Finding::severity).isSorted().contains(Severity.ERROR, Severity.WARNING, Severity.NOTE);
    }

    @Test
    void aBackupMxTakingLargerMessagesThanThePrimaryIsAWarningNamingBothSizes() {
        MxHost primary = host(10, "mx1.example.org", "192.0.2.1");
        MxHost backup = host(20, "mx2.example.org", "198.51.100.1");
        MxHost unlimited = host(30, "mx3.example.org", "198.51.100.2");
        List<Finding> f = Findings.of(routes(PUBLIC, primary, backup, unlimited), List.of(
                reached(primary, "mx1.example.org ESMTP", "STARTTLS", "SIZE 10240000"),
                reached(backup, "mx2.example.org ESMTP", "STARTTLS", "SIZE 52428800"),
                reached(unlimited, "mx3.example.org ESMTP", "STARTTLS", "SIZE 0")), 25);
        assertThat(of(Severity.WARNING, f)).extracting(x -> x.host().orElseThrow()).containsExactly("mx2.example.org", "mx3.example.org");
        assertThat(messages(Severity.WARNING, f).get(0)).contains("takes messages up to 52428800 bytes")
                .contains("primary mx1.example.org (preference 10) only 10240000 bytes");
        assertThat(messages(Severity.WARNING, f).get(1)).contains("announces no SIZE limit");
    }

    @Test
    void aBackupWithTheSameOrASmallerSizeIsFine() {
        MxHost primary = host(10, "mx1.example.org", "192.0.2.1");
        MxHost backup = host(20, "mx2.example.org", "198.51.100.1");
        List<Finding> f = Findings.of(routes(PUBLIC, primary, backup), List.of(
                reached(primary, "mx1.example.org ESMTP", "STARTTLS", "SIZE 10240000"),
                reached(backup, "mx2.example.org ESMTP", "STARTTLS", "SIZE 10240000")), 25);
        assertThat(f).isEmpty();
    }
}
