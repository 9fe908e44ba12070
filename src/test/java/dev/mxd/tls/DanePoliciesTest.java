package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.dns.TlsaLookup;
import dev.mxd.smtp.EnhancedStatus;
import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TLSARecord;

/** RFC 7672 §2.2: which TLSA answers make TLS mandatory, authenticated, or keep a host from the mail. */
class DanePoliciesTest {

    private static final String HOST = "mx1.secure.test";
    private static final Name OWNER = TlsaLookup.ownerOf(HOST);
    private final List<String> asked = new ArrayList<>();

    private HostTls decide(DnssecStatus mx, DnssecStatus address, boolean validating, DnsAnswer tlsa) throws Exception {
        Function<String, DnsAnswer> lookup = h -> {
            asked.add(h);
            return tlsa;
        };
        DanePolicies dane = new DanePolicies(() -> validating, lookup, Clock.systemUTC());
        MxHost host = new MxHost(10, HOST, List.of(InetAddress.getByName("127.0.0.1")), List.of(), address);
        MxOutcome.Routes routes = new MxOutcome.Routes(MailDomain.parse("secure.test"), false, List.of(host), List.of(), List.of(), mx);
        return dane.forDomain(new TlsPolicies.Destination("secure.test", false), routes).forHost(host);
    }

    private static DnsAnswer found(DnssecStatus status, Record... records) {
        return new DnsAnswer.Found(OWNER, List.of(), List.of(records), status);
    }

    private static TLSARecord tlsa(int usage, int selector, int matching, int length) {
        return new TLSARecord(OWNER, DClass.IN, 300, usage, selector, matching, new byte[length]);
    }

    private static final DnssecStatus S = DnssecStatus.SECURE;
    private static final DnssecStatus I = DnssecStatus.INSECURE;

    /** A legal MX name too long for _25._tcp. before it (247-253 octets) has no TLSA name: the host is not used, no exception escapes (RFC 7672 §2.2). */
    @Test
    void anMxNameTooLongForItsTlsaNameIsUnusable() throws Exception {
        String longName = String.join(".", "a".repeat(60), "b".repeat(60), "c".repeat(60), "d".repeat(60), "secure.test"); // 252 octets
        DanePolicies dane = new DanePolicies(() -> true, h -> found(S), Clock.systemUTC());
        MxHost host = new MxHost(10, longName, List.of(InetAddress.getByName("127.0.0.1")), List.of(), S);
        MxOutcome.Routes routes = new MxOutcome.Routes(MailDomain.parse("secure.test"), false, List.of(host), List.of(), List.of(), S);
        assertThat(dane.forDomain(new TlsPolicies.Destination("secure.test", false), routes).forHost(host))
                .isInstanceOfSatisfying(HostTls.Unusable.class, u -> assertThat(u.reason()).startsWith("no TLSA name for "));
    }

    @Test
    void secureUsableRecordsAuthenticate() throws Exception {
        HostTls d = decide(S, S, true, found(S, tlsa(3, 1, 1, 32), tlsa(1, 1, 1, 32)));
        assertThat(d).isInstanceOf(HostTls.Authenticated.class);
        HostTls.Authenticated a = (HostTls.Authenticated) d;
        assertThat(a.authentication().method()).isEqualTo("DANE");
        assertThat(a.policy().type()).isEqualTo("tlsa");
        assertThat(a.policy().strings()).hasSize(2);
        assertThat(asked).containsExactly(HOST);
    }

    @Test
    void secureRecordsNoneUsableMakeTlsMandatoryUnauthenticated() throws Exception {
        assertThat(decide(S, S, true, found(S, tlsa(1, 1, 1, 32), tlsa(3, 1, 1, 20)))).isInstanceOf(HostTls.Encrypted.class);
    }

    @Test
    void aSecureDenialOrAnInsecureAnswerIsOpportunistic() throws Exception {
        assertThat(decide(S, S, true, new DnsAnswer.NoData(OWNER, List.of(), S))).isInstanceOf(HostTls.Opportunistic.class);
        assertThat(decide(S, S, true, new DnsAnswer.NoSuchName(OWNER, List.of(), S))).isInstanceOf(HostTls.Opportunistic.class);
        assertThat(decide(S, S, true, found(I, tlsa(3, 1, 1, 32)))).isInstanceOf(HostTls.Opportunistic.class);
    }

    @Test
    void noLookupUnlessMxAndAddressesAreSecureAndValidationIsOn() throws Exception {
        DnsAnswer records = found(S, tlsa(3, 1, 1, 32));
        assertThat(decide(I, S, true, records)).isInstanceOf(HostTls.Opportunistic.class);
        assertThat(decide(S, I, true, records)).isInstanceOf(HostTls.Opportunistic.class);
        assertThat(decide(S, S, false, records)).isInstanceOf(HostTls.Opportunistic.class);
        assertThat(asked).isEmpty();
    }

    @Test
    void aFailedLookupOnASecureZoneKeepsTheHostFromTheMail() throws Exception {
        HostTls servfail = decide(S, S, true, new DnsAnswer.Failed(OWNER, List.of(), "SERVFAIL", I));
        assertThat(servfail).isInstanceOfSatisfying(HostTls.Unusable.class, u -> {
            assertThat(u.status()).isEqualTo(EnhancedStatus.DNS_FAILURE);
            assertThat(u.resultType()).isEqualTo("tlsa-invalid");
        });
        HostTls bogus = decide(S, S, true, new DnsAnswer.Failed(OWNER, List.of(), "signature expired", DnssecStatus.BOGUS));
        assertThat(bogus).isInstanceOfSatisfying(HostTls.Unusable.class, u -> {
            assertThat(u.status()).isEqualTo(EnhancedStatus.CRYPTOGRAPHIC_FAILURE);
            assertThat(u.resultType()).isEqualTo("dnssec-invalid");
        });
    }

    @Test
    void tlsaIsAskedAtPort25WhateverTheDeliveryPort() {
        assertThat(TlsaLookup.ownerOf("mx1.secure.test").toString()).isEqualTo("_25._tcp.mx1.secure.test.");
        assertThat(TlsaLookup.ownerOf("mx1.secure.test.").toString()).isEqualTo("_25._tcp.mx1.secure.test.");
    }

    private HostTls decideAlias(java.util.Map<String, DnsAnswer> answers) throws Exception {
        DanePolicies dane = new DanePolicies(() -> true, h -> {
            asked.add(h);
            return answers.get(h);
        }, h -> java.util.Optional.of("real.hosting.test"), Clock.systemUTC());
        MxHost host = new MxHost(10, HOST, List.of(InetAddress.getByName("127.0.0.1")), List.of(), S);
        MxOutcome.Routes routes = new MxOutcome.Routes(MailDomain.parse("secure.test"), false, List.of(host), List.of(), List.of(), S);
        return dane.forDomain(new TlsPolicies.Destination("secure.test", false), routes).forHost(host);
    }

    @Test
    void aSecureAliasIsAskedFirstAtItsTargetThenAtTheMxName() throws Exception {
        // RFC 7672 §2.2.2: records at the expanded name are used...
        HostTls atTarget = decideAlias(java.util.Map.of("real.hosting.test", found(S, tlsa(3, 1, 1, 32)),
                HOST, new DnsAnswer.NoData(OWNER, List.of(), S)));
        assertThat(atTarget).isInstanceOf(HostTls.Authenticated.class);
        assertThat(asked).containsExactly("real.hosting.test");
        // ...a secure denial there falls back to the MX host name...
        asked.clear();
        HostTls atMxName = decideAlias(java.util.Map.of("real.hosting.test", new DnsAnswer.NoSuchName(OWNER, List.of(), S),
                HOST, found(S, tlsa(2, 1, 1, 32))));
        assertThat(atMxName).isInstanceOf(HostTls.Authenticated.class);
        assertThat(asked).containsExactly("real.hosting.test", HOST);
        // ...and so does an insecure answer there (its TLSA name a CNAME into an unsigned zone: no records, §2.2): the MX
        // host name's signed records hold, as Postfix looks at the original name after an unvalidated answer...
        for (DnsAnswer insecure : List.of(found(I, tlsa(3, 1, 1, 32)), new DnsAnswer.NoData(OWNER, List.of(), I),
                new DnsAnswer.NoSuchName(OWNER, List.of(), I))) {
            asked.clear();
            HostTls afterInsecure = decideAlias(java.util.Map.of("real.hosting.test", insecure, HOST, found(S, tlsa(3, 1, 1, 32))));
            assertThat(afterInsecure).as(insecure.toString()).isInstanceOf(HostTls.Authenticated.class);
            assertThat(asked).containsExactly("real.hosting.test", HOST);
        }
        // ...while a bogus answer there keeps the host from the mail...
        asked.clear();
        HostTls bogus = decideAlias(java.util.Map.of("real.hosting.test", found(DnssecStatus.BOGUS, tlsa(3, 1, 1, 32)),
                HOST, new DnsAnswer.NoData(OWNER, List.of(), S)));
        assertThat(bogus).isInstanceOf(HostTls.Unusable.class);
        assertThat(asked).containsExactly("real.hosting.test");
        // ...and a failure there is a failure, never a reason to look elsewhere.
        asked.clear();
        HostTls failed = decideAlias(java.util.Map.of("real.hosting.test", new DnsAnswer.Failed(OWNER, List.of(), "timeout", I),
                HOST, new DnsAnswer.NoData(OWNER, List.of(), S)));
        assertThat(failed).isInstanceOf(HostTls.Unusable.class);
        assertThat(asked).containsExactly("real.hosting.test");
    }
}
