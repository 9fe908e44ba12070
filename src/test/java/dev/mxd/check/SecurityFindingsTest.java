package dev.mxd.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.check.SecurityReport.DaneStatus;
import dev.mxd.check.SecurityReport.HostSecurity;
import dev.mxd.check.SecurityReport.RptStatus;
import dev.mxd.dns.DnsAnswer;
import dev.mxd.dns.DnssecStatus;
import dev.mxd.dns.MailDomain;
import dev.mxd.dns.MxHost;
import dev.mxd.dns.MxOutcome;
import dev.mxd.smtp.EhloExtensions;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.client.PresentedCertificate;
import dev.mxd.smtp.client.ProbeResult;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.TestDirs;
import dev.mxd.tls.DaneVerifier;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.MtaSts;
import dev.mxd.tls.StsPolicy;
import dev.mxd.tls.Tlsa;
import dev.mxd.tls.WebPki;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.TXTRecord;

/** The grading rules of {@link SecurityFindings}, as pure functions: no DNS, no network (certificates from openssl). */
class SecurityFindingsTest {

    private static final MailDomain DOMAIN = MailDomain.parse("secure.test");
    private static final String HOST = "mx1.secure.test";

    private static Path dir;
    private static List<X509Certificate> chain;
    private static WebPki pki;
    private static WebPki otherPki;

    @BeforeAll
    static void certificates() throws Exception {
        dir = Files.createTempDirectory("mxd-security-findings");
        Certificates.privateCa(dir.resolve("ca.pem"), dir.resolve("ca.key"));
        Certificates.issuedBy(dir.resolve("ca.pem"), dir.resolve("ca.key"), dir.resolve("leaf.pem"), dir.resolve("leaf.key"), HOST);
        Certificates.privateCa(dir.resolve("other.pem"), dir.resolve("other.key"), "another CA");
        chain = List.of(read(dir.resolve("leaf.pem")), read(dir.resolve("ca.pem")));
        pki = WebPki.of(Optional.of(dir.resolve("ca.pem")));
        otherPki = WebPki.of(Optional.of(dir.resolve("other.pem")));
    }

    @AfterAll
    static void clean() {
        TestDirs.deleteTree(dir);
    }

    private static X509Certificate read(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static InetAddress loopback() {
        return InetAddress.getLoopbackAddress();
    }

    private static MxHost host(DnssecStatus dnssec) {
        return new MxHost(10, HOST, List.of(loopback()), List.of(), dnssec);
    }

    private static MxOutcome.Routes routes(DnssecStatus mx, MxHost... hosts) {
        return new MxOutcome.Routes(DOMAIN, false, List.of(hosts), List.of(), List.of(), mx);
    }

    private static HostProbe probe(boolean starttls, Optional<ProbeResult.Tls> tls) {
        List<String> lines = starttls ? List.of(HOST, "STARTTLS") : List.of(HOST);
        SmtpReply ehlo = SmtpReply.of(250, lines);
        return new HostProbe(HOST, 10, new ProbeResult.Reached(new InetSocketAddress(loopback(), 25), 2,
                SmtpReply.of(220, List.of(HOST + " ESMTP")), ehlo, true, EhloExtensions.of(ehlo), tls));
    }

    private static HostProbe withChain() {
        return probe(true, Optional.of(new ProbeResult.Tls.Presented("TLSv1.3", "TLS_AES_128_GCM_SHA256",
                PresentedCertificate.of(chain.get(0)), chain)));
    }

    private static Tlsa eeRecord(boolean right) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(chain.get(0).getPublicKey().getEncoded());
        if (!right) {
            digest[0] ^= 1;
        }
        return new Tlsa(Tlsa.DANE_EE, 1, 1, digest);
    }

    private static HostTls authenticated(Tlsa record) {
        return new HostTls.Authenticated(new DaneVerifier(List.of(record)),
                new HostTls.ReportedPolicy("tlsa", List.of(record.text()), List.of()));
    }

    private static final SecurityReport.Validation VALIDATING = new SecurityReport.Validation("validate", true, "validating");
    private static final SecurityReport.TlsRpt RPT = new SecurityReport.TlsRpt(RptStatus.PRESENT, List.of("v=TLSRPTv1; rua=mailto:r@secure.test"),
            List.of(java.net.URI.create("mailto:r@secure.test")), "reports");
    private static final MtaSts.Published NO_STS = new MtaSts.Published(Optional.empty(), "no _mta-sts record", false);

    private static SecurityReport report(SecurityReport.Validation v, DnssecStatus mx, SecurityReport.Dane dane,
                                         MtaSts.Published sts, Optional<SecurityReport.Sts> hostSts, SecurityReport.TlsRpt rpt) {
        return new SecurityReport(v, mx, List.of(new HostSecurity(HOST, DnssecStatus.SECURE, dane, hostSts)), sts, rpt);
    }

    private static SecurityReport.Dane noDane() {
        return new SecurityReport.Dane(DaneStatus.NO_RECORDS, List.of(), "none");
    }

    private static List<Finding> grade(SecurityReport r) {
        return SecurityFindings.of(routes(r.mxDnssec(), host(DnssecStatus.SECURE)), r);
    }

    private static List<Finding> only(Severity s, List<Finding> all) {
        return all.stream().filter(f -> f.severity() == s).toList();
    }

    @Test
    void validationOffIsANoteThatSaysWhy() {
        SecurityReport.Validation off = new SecurityReport.Validation("auto", false,
                "127.0.0.1:53 does not serve the DNSKEY records of . with valid signatures");
        List<Finding> f = grade(report(off, DnssecStatus.INSECURE, SecurityFindings.dane(false, new HostTls.Opportunistic(), HOST,
                List.of(withChain())), NO_STS, Optional.empty(), RPT));
        assertThat(f).singleElement().satisfies(n -> {
            assertThat(n.severity()).isEqualTo(Severity.NOTE);
            assertThat(n.message()).contains("validation was off").contains("--dnssec auto").contains("does not serve the DNSKEY");
        });
    }

    @Test
    void aBogusMxAnswerIsAnErrorEvenWhenItLeavesNoRoutes() {
        SecurityReport r = report(VALIDATING, DnssecStatus.BOGUS, noDane(), NO_STS, Optional.empty(), RPT);
        assertThat(only(Severity.ERROR, grade(r))).singleElement().satisfies(e -> assertThat(e.message()).contains("bogus"));
        MxOutcome failed = new MxOutcome.TemporaryFailure(DOMAIN, "bogus", EnhancedStatus.CRYPTOGRAPHIC_FAILURE, List.of(), List.of(),
                DnssecStatus.BOGUS);
        // With no routes the MX lookup's own findings say it (FindingsTest), once.
        assertThat(only(Severity.ERROR, SecurityFindings.of(failed, r))).isEmpty();
    }

    @Test
    void anInsecureMxChainIsANoteThatDaneCannotApply() {
        List<Finding> f = grade(report(VALIDATING, DnssecStatus.INSECURE, noDane(), NO_STS, Optional.empty(), RPT));
        assertThat(f).singleElement().satisfies(n -> {
            assertThat(n.severity()).isEqualTo(Severity.NOTE);
            assertThat(n.message()).contains("not DNSSEC-signed").contains("DANE cannot apply");
        });
    }

    @Test
    void anInsecureOrBogusHostUnderASecureMxIsANoteOrAnError() {
        SecurityReport insecure = new SecurityReport(VALIDATING, DnssecStatus.SECURE, List.of(new HostSecurity(HOST,
                DnssecStatus.INSECURE, noDane(), Optional.empty())), NO_STS, RPT);
        assertThat(grade(insecure)).singleElement().satisfies(n -> {
            assertThat(n.severity()).isEqualTo(Severity.NOTE);
            assertThat(n.host()).contains(HOST);
        });
        SecurityReport bogus = new SecurityReport(VALIDATING, DnssecStatus.SECURE, List.of(new HostSecurity(HOST,
                DnssecStatus.BOGUS, noDane(), Optional.empty())), NO_STS, RPT);
        assertThat(grade(bogus)).singleElement().satisfies(e -> assertThat(e.severity()).isEqualTo(Severity.ERROR));
    }

    @Test
    void aMatchingTlsaRecordIsANoteNamingHowTheHostWasAuthenticated() throws Exception {
        SecurityReport.Dane dane = SecurityFindings.dane(true, authenticated(eeRecord(true)), HOST, List.of(withChain()));
        assertThat(dane.status()).isEqualTo(DaneStatus.AUTHENTICATED);
        List<Finding> f = grade(report(VALIDATING, DnssecStatus.SECURE, dane, NO_STS, Optional.empty(), RPT));
        assertThat(f).singleElement().satisfies(n -> {
            assertThat(n.severity()).isEqualTo(Severity.NOTE);
            assertThat(n.message()).startsWith("authenticated by DANE-EE(3) SPKI SHA2-256");
        });
    }

    @Test
    void aTlsaRecordThePresentedChainDoesNotMatchIsAnError() throws Exception {
        SecurityReport.Dane dane = SecurityFindings.dane(true, authenticated(eeRecord(false)), HOST, List.of(withChain()));
        assertThat(dane.status()).isEqualTo(DaneStatus.MISMATCH);
        assertThat(only(Severity.ERROR, grade(report(VALIDATING, DnssecStatus.SECURE, dane, NO_STS, Optional.empty(), RPT))))
                .singleElement().satisfies(e -> assertThat(e.message()).contains("no TLSA record").contains("DANE senders defer"));
    }

    @Test
    void usableTlsaRecordsOnAHostWithoutStarttlsAreAnError() throws Exception {
        SecurityReport.Dane dane = SecurityFindings.dane(true, authenticated(eeRecord(true)), HOST, List.of(probe(false, Optional.empty())));
        assertThat(dane.status()).isEqualTo(DaneStatus.MISMATCH);
        assertThat(dane.detail()).contains("does not offer STARTTLS");
    }

    @Test
    void recordsNoneUsableAreAWarningAndAFailedLookupAnError() {
        SecurityReport.Dane unusable = SecurityFindings.dane(true, new HostTls.Encrypted(new HostTls.ReportedPolicy("tlsa",
                List.of("1 1 1 AB"), List.of())), HOST, List.of(withChain()));
        assertThat(unusable.status()).isEqualTo(DaneStatus.UNUSABLE_RECORDS);
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, unusable, NO_STS, Optional.empty(), RPT)))
                .singleElement().satisfies(w -> assertThat(w.severity()).isEqualTo(Severity.WARNING));
        SecurityReport.Dane failed = SecurityFindings.dane(true, new HostTls.Unusable(EnhancedStatus.CRYPTOGRAPHIC_FAILURE,
                "the TLSA answer for _25._tcp.mx1.secure.test is bogus", "dnssec-invalid", HostTls.ReportedPolicy.NONE), HOST, List.of());
        assertThat(failed.status()).isEqualTo(DaneStatus.LOOKUP_FAILED);
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, failed, NO_STS, Optional.empty(), RPT)))
                .singleElement().satisfies(e -> {
                    assertThat(e.severity()).isEqualTo(Severity.ERROR);
                    assertThat(e.message()).contains("is bogus");
                });
    }

    @Test
    void noTlsaRecordsOnASecureHostIsNoFinding() {
        SecurityReport.Dane dane = SecurityFindings.dane(true, new HostTls.Opportunistic(), HOST, List.of(withChain()));
        assertThat(dane.status()).isEqualTo(DaneStatus.NO_RECORDS);
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, dane, NO_STS, Optional.empty(), RPT))).isEmpty();
    }

    private static MtaSts.Published policy(String mode, long maxAge) throws Exception {
        return new MtaSts.Published(Optional.of(StsPolicy.parse("version: STSv1\r\nmode: " + mode + "\r\nmx: " + HOST
                + "\r\nmax_age: " + maxAge + "\r\n")), "policy id 1", false);
    }

    @Test
    void anMxCertificateTheWebPkiRejectsIsAnErrorInEnforceAndAWarningInTesting() throws Exception {
        for (String mode : List.of("enforce", "testing")) {
            MtaSts.Published sts = policy(mode, 604800);
            SecurityReport.Sts bad = SecurityFindings.sts(sts.policy().orElseThrow(), HOST, List.of(withChain()), otherPki.mxAuthentication());
            assertThat(bad.mxMatches()).isTrue();
            assertThat(bad.certificates()).singleElement().satisfies(c -> assertThat(c.valid()).isFalse());
            List<Finding> f = grade(report(VALIDATING, DnssecStatus.SECURE, noDane(), sts, Optional.of(bad), RPT));
            Severity expected = mode.equals("enforce") ? Severity.ERROR : Severity.WARNING;
            assertThat(only(expected, f)).as(mode).singleElement()
                    .satisfies(e -> assertThat(e.message()).contains("fails MTA-STS's certificate check"));
        }
        MtaSts.Published sts = policy("enforce", 604800);
        SecurityReport.Sts good = SecurityFindings.sts(sts.policy().orElseThrow(), HOST, List.of(withChain()), pki.mxAuthentication());
        assertThat(good.certificates()).singleElement().satisfies(c -> assertThat(c.valid()).as(c.detail()).isTrue());
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, noDane(), sts, Optional.of(good), RPT))).isEmpty();
    }

    @Test
    void aShortMaxAgeIsANote() throws Exception {
        MtaSts.Published sts = policy("enforce", 3600);
        SecurityReport.Sts good = SecurityFindings.sts(sts.policy().orElseThrow(), HOST, List.of(withChain()), pki.mxAuthentication());
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, noDane(), sts, Optional.of(good), RPT)))
                .singleElement().satisfies(n -> {
                    assertThat(n.severity()).isEqualTo(Severity.NOTE);
                    assertThat(n.message()).contains("max_age is 3600");
                });
    }

    private static DnsAnswer txt(String... texts) throws Exception {
        Name name = Name.fromString("_smtp._tls.secure.test.");
        return new DnsAnswer.Found(name, List.of(), java.util.Arrays.stream(texts)
                .map(t -> (org.xbill.DNS.Record) new TXTRecord(name, DClass.IN, 300, t)).toList());
    }

    @Test
    void theTlsRptRecordIsReadFromTheTxtAnswer() throws Exception {
        assertThat(SecurityFindings.tlsRpt(txt("v=TLSRPTv1; rua=mailto:tlsrpt@secure.test")).status()).isEqualTo(RptStatus.PRESENT);
        assertThat(SecurityFindings.tlsRpt(txt("v=spf1 -all")).status()).isEqualTo(RptStatus.ABSENT);
        assertThat(SecurityFindings.tlsRpt(new DnsAnswer.NoData(Name.fromString("_smtp._tls.secure.test."), List.of())).status())
                .isEqualTo(RptStatus.ABSENT);
        assertThat(SecurityFindings.tlsRpt(txt("v=TLSRPTv1; rua=ftp://x")).status()).isEqualTo(RptStatus.MALFORMED);
        // a space before the semicolon: senders discard the record (RFC 8460 §3), and the check says why, not "no rua"
        SecurityReport.TlsRpt spaced = SecurityFindings.tlsRpt(txt("v=TLSRPTv1 ; rua=mailto:tlsrpt@secure.test"));
        assertThat(spaced.status()).isEqualTo(RptStatus.MALFORMED);
        assertThat(spaced.detail()).contains("does not begin with \"v=TLSRPTv1;\"").doesNotContain("names no mailto");
        // beside a record senders keep, such a stray one is not counted: senders see one record
        assertThat(SecurityFindings.tlsRpt(txt("v=TLSRPTv1 ; rua=mailto:a@secure.test", "v=TLSRPTv1; rua=mailto:b@secure.test"))
                .status()).isEqualTo(RptStatus.PRESENT);
        assertThat(SecurityFindings.tlsRpt(txt("v=TLSRPTv1; rua=mailto:a@secure.test", "v=TLSRPTv1; rua=mailto:b@secure.test"))
                .status()).isEqualTo(RptStatus.MALFORMED);
        assertThat(SecurityFindings.tlsRpt(new DnsAnswer.Failed(Name.fromString("_smtp._tls.secure.test."), List.of(), "timed out"))
                .status()).isEqualTo(RptStatus.LOOKUP_FAILED);
    }

    @Test
    void noTlsRptRecordIsANoteOnlyWhenDaneOrMtaStsIsPublished() throws Exception {
        SecurityReport.TlsRpt absent = SecurityFindings.tlsRpt(txt("v=spf1 -all"));
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, noDane(), NO_STS, Optional.empty(), absent))).isEmpty();
        SecurityReport.Dane dane = SecurityFindings.dane(true, authenticated(eeRecord(true)), HOST, List.of(withChain()));
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, dane, NO_STS, Optional.empty(), absent)))
                .anySatisfy(n -> {
                    assertThat(n.severity()).isEqualTo(Severity.NOTE);
                    assertThat(n.message()).contains("no TLS-RPT record");
                });
        SecurityReport.TlsRpt malformed = SecurityFindings.tlsRpt(txt("v=TLSRPTv1; rua=ftp://x"));
        assertThat(grade(report(VALIDATING, DnssecStatus.SECURE, noDane(), NO_STS, Optional.empty(), malformed)))
                .singleElement().satisfies(w -> assertThat(w.severity()).isEqualTo(Severity.WARNING));
    }
}
