package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.DnssecConfig;
import dev.mxd.config.DnssecMode;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.ServfailSwitch;
import dev.mxd.testing.SignedZones;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Type;

/**
 * What DANE relies on (RFC 7672 §2.1): a lookup that failed during validation is a failure, never an insecure
 * answer. Real Knot ({@link SignedZones}) behind a {@link ServfailSwitch} that loses or fails chosen questions.
 */
@PeerTest
class DnssecFailureStatusPeerTest {

    private static SignedZones zones;
    private static ServfailSwitch dns;

    @BeforeAll
    static void start() throws Exception {
        zones = SignedZones.start();
        dns = new ServfailSwitch(new InetSocketAddress("127.0.0.1", FreePort.tcpAndUdp("127.0.0.1")), zones.knot().address());
    }

    @AfterEach
    void heal() {
        dns.heal();
    }

    @AfterAll
    static void stop() throws Exception {
        if (dns != null) {
            dns.close();
        }
        if (zones != null) {
            zones.close();
        }
    }

    private static DnsClient client() {
        DnsSettings settings = new DnsSettings(List.of(dns.address()), Duration.ofMillis(300), 2, Duration.ofSeconds(3), 8, 100,
                Duration.ofDays(1)).withDnssec(DnssecMode.VALIDATE, DnssecConfig.readAnchors(zones.secureAnchor()));
        return new DnsClient(settings);
    }

    @Test
    void aNegativeAnswerWhoseKeysCannotBeFetchedIsNotInsecure() throws Exception {
        dns.drop("secure.test", Type.DNSKEY);
        DnsAnswer answer = client().query(Name.fromString("_25._tcp.mx.secure.test."), Type.TLSA);
        // Never a denial of existence taken unchecked (NoData / NoSuchName, insecure): a failure that defers.
        assertThat(answer).as(answer.toString()).isInstanceOf(DnsAnswer.Failed.class);
    }

    @Test
    void aPositiveAnswerWhoseKeysCannotBeFetchedIsNotInsecure() throws Exception {
        dns.drop("secure.test", Type.DNSKEY);
        DnsAnswer answer = client().query(Name.fromString("mx.secure.test."), Type.A);
        assertThat(answer).as(answer.toString()).isInstanceOf(DnsAnswer.Failed.class);
    }

    @Test
    void aFailedAddressLookupDoesNotMakeASecureHostInsecure() throws Exception {
        dns.fail("mx.secure.test", Type.AAAA);
        MxOutcome outcome = new MxResolver(client(), MxPolicy.defaults()).resolve(MailDomain.parse("secure.test"));
        assertThat(outcome).isInstanceOf(MxOutcome.Routes.class);
        MxHost host = ((MxOutcome.Routes) outcome).hosts().get(0);
        assertThat(host.warnings()).anyMatch(w -> w.contains("AAAA"));
        assertThat(host.dnssec()).isEqualTo(DnssecStatus.SECURE);
    }

    @Test
    void autoTakesAServfailForTheAnchorsKeysAsInconclusiveAndChecksAgainSoon() throws Exception {
        // One SERVFAIL (or a forged reply) at start-up must not switch DNSSEC, and with it DANE, off for an hour.
        dns.fail("secure.test", Type.DNSKEY);
        DnsClient auto = new DnsClient(new DnsSettings(List.of(dns.address()), Duration.ofMillis(300), 2, Duration.ofSeconds(3),
                8, 100, Duration.ofDays(1)).withDnssec(DnssecMode.AUTO, DnssecConfig.readAnchors(zones.secureAnchor())));
        assertThat(auto.validating()).isFalse();
        assertThat(auto.dnssecNote()).contains("is off", "failed", "SERVFAIL", "checked again in a minute");
        dns.heal();
        assertThat(auto.recheckDnssec()).as(auto.dnssecNote()).isTrue();
        assertThat(auto.dnssecNote()).contains("is on");
        // a client for one command (mxd lookup, mxd check) makes no promise of a later check
        dns.fail("secure.test", Type.DNSKEY);
        DnsClient once = DnsClient.once(new DnsSettings(List.of(dns.address()), Duration.ofMillis(300), 2, Duration.ofSeconds(3),
                8, 100, Duration.ofDays(1)).withDnssec(DnssecMode.AUTO, DnssecConfig.readAnchors(zones.secureAnchor())));
        assertThat(once.validating()).isFalse();
        assertThat(once.dnssecNote()).contains("is off", "SERVFAIL").doesNotContain("checked again");
        dns.heal();
    }

    /**
     * In auto, the servers named by the resolver file change to ones that do not serve DNSSEC (an
     * unsigned copy of the zone here): validation, on for the first servers, is decided anew for
     * the new ones and goes off, rather than finding every answer bogus and deferring all mail.
     */
    @Test
    void autoDecidesAnewWhenTheResolverFileNamesOtherServers(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path unsigned = dev.mxd.testing.TestDirs.zone(dir, "secure.test", "mx IN A 192.0.2.1");
        try (dev.mxd.testing.MxdDnsServer plain = dev.mxd.testing.MxdDnsServer.start(java.util.Map.of("secure.test", unsigned))) {
            java.nio.file.Path file = java.nio.file.Files.writeString(dir.resolve("resolv.conf"), "nameserver signed\n");
            java.util.concurrent.atomic.AtomicReference<List<InetSocketAddress>> named = new java.util.concurrent.atomic.AtomicReference<>(
                    List.of(dns.address()));
            java.util.concurrent.atomic.AtomicLong skew = new java.util.concurrent.atomic.AtomicLong();
            DnsClient auto = new DnsClient(new DnsSettings(List.of(dns.address()), Duration.ofMillis(300), 2, Duration.ofSeconds(3),
                    8, 100, Duration.ofDays(1)).withDnssec(DnssecMode.AUTO, DnssecConfig.readAnchors(zones.secureAnchor())),
                    () -> System.nanoTime() + skew.get(), java.util.Optional.of(new DnsClient.ServerSource(file, named::get)));
            assertThat(auto.validating()).as(auto.dnssecNote()).isTrue();

            named.set(List.of(plain.address()));
            java.nio.file.Files.writeString(file, "nameserver plain, unsigned\n");
            skew.addAndGet(DnsClient.SOURCE_CHECK_NANOS);
            DnsAnswer answer = auto.query(Name.fromString("mx.secure.test."), Type.A);
            assertThat(auto.validating()).as(auto.dnssecNote()).isFalse();
            assertThat(answer).as("answered, not bogus").isInstanceOf(DnsAnswer.Found.class);
        }
    }
}
