package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.smtp.client.ServerAuthentication;
import dev.mxd.testing.Certificates;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RFC 7672 §3.1: DANE-EE(3) and DANE-TA(2) matching, with and without the name checks. */
class DaneVerifierTest {

    @TempDir
    static Path dir;

    static X509Certificate ca;
    static X509Certificate otherCa;
    static X509Certificate leaf;
    static X509Certificate wildcardLeaf;
    static X509Certificate otherNameLeaf;
    static X509Certificate expiredSelfSigned;

    @BeforeAll
    static void makeCertificates() throws Exception {
        Certificates.privateCa(dir.resolve("ca.pem"), dir.resolve("ca.key"), "mxd test CA");
        Certificates.privateCa(dir.resolve("other.pem"), dir.resolve("other.key"), "another CA");
        Certificates.issued(dir.resolve("ca.pem"), dir.resolve("ca.key"), "mx1.example.test", dir.resolve("leaf.pem"), dir.resolve("leaf.key"));
        Certificates.issued(dir.resolve("ca.pem"), dir.resolve("ca.key"), "*.example.test", dir.resolve("wild.pem"), dir.resolve("wild.key"));
        Certificates.issued(dir.resolve("ca.pem"), dir.resolve("ca.key"), "mail.elsewhere.test", dir.resolve("elsewhere.pem"),
                dir.resolve("elsewhere.key"));
        Certificates.expired(dir.resolve("expired.pem"), dir.resolve("expired.key"));
        ca = read("ca.pem");
        otherCa = read("other.pem");
        leaf = read("leaf.pem");
        wildcardLeaf = read("wild.pem");
        otherNameLeaf = read("elsewhere.pem");
        expiredSelfSigned = read("expired.pem");
    }

    private static X509Certificate read(String name) throws Exception {
        try (InputStream in = Files.newInputStream(dir.resolve(name))) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static byte[] digest(String algorithm, byte[] data) throws Exception {
        return MessageDigest.getInstance(algorithm).digest(data);
    }

    private static Tlsa ee(int selector, int matching, X509Certificate c) throws Exception {
        return record(Tlsa.DANE_EE, selector, matching, c);
    }

    private static Tlsa ta(int selector, int matching, X509Certificate c) throws Exception {
        return record(Tlsa.DANE_TA, selector, matching, c);
    }

    private static Tlsa record(int usage, int selector, int matching, X509Certificate c) throws Exception {
        byte[] selected = selector == 0 ? c.getEncoded() : c.getPublicKey().getEncoded();
        byte[] data = switch (matching) {
            case 0 -> selected;
            case 1 -> digest("SHA-256", selected);
            default -> digest("SHA-512", selected);
        };
        return new Tlsa(usage, selector, matching, data);
    }

    @Test
    void daneEeMatchesEverySelectorAndMatchingType() throws Exception {
        for (int selector = 0; selector <= 1; selector++) {
            for (int matching = 0; matching <= 2; matching++) {
                DaneVerifier v = new DaneVerifier(List.of(ee(selector, matching, leaf)));
                assertThat(v.verify(List.of(leaf, ca), "mx1.example.test")).startsWith("DANE-EE(3) " + (selector == 0 ? "Cert" : "SPKI"));
            }
        }
    }

    @Test
    void daneEeChecksNoNameNoExpiryNoChain() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ee(1, 1, expiredSelfSigned)));
        assertThat(v.verify(List.of(expiredSelfSigned), "some.other.host")).isEqualTo("DANE-EE(3) SPKI SHA2-256");
    }

    @Test
    void aWrongDigestIsRefused() throws Exception {
        byte[] wrong = digest("SHA-256", leaf.getPublicKey().getEncoded());
        wrong[0] ^= 1;
        DaneVerifier v = new DaneVerifier(List.of(new Tlsa(3, 1, 1, wrong)));
        assertThatThrownBy(() -> v.verify(List.of(leaf, ca), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class, r -> assertThat(r.resultType()).isEqualTo("validation-failure"));
    }

    @Test
    void onlyTheStrongestDigestOfAUsageAndSelectorIsUsed() throws Exception {
        // RFC 7671 §9 (digest agility): beside a SHA2-512 record, a SHA2-256 one of the same usage and selector is
        // not used, even when it is the one that matches.
        DaneVerifier v = new DaneVerifier(List.of(new Tlsa(3, 1, 2, new byte[64]), ee(1, 1, leaf)));
        assertThatThrownBy(() -> v.verify(List.of(leaf, ca), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class, r -> assertThat(r.resultType()).isEqualTo("validation-failure"));
        // Another selector is another group; full (0) records are no digest and always count.
        assertThat(new DaneVerifier(List.of(new Tlsa(3, 0, 2, new byte[64]), ee(1, 1, leaf))).verify(List.of(leaf, ca), "mx1.example.test"))
                .isEqualTo("DANE-EE(3) SPKI SHA2-256");
        assertThat(new DaneVerifier(List.of(new Tlsa(3, 1, 2, new byte[64]), ee(1, 0, leaf))).verify(List.of(leaf, ca), "mx1.example.test"))
                .startsWith("DANE-EE(3) SPKI");
        assertThat(new DaneVerifier(List.of(new Tlsa(3, 1, 1, new byte[32]), ee(1, 2, leaf))).verify(List.of(leaf, ca), "mx1.example.test"))
                .isEqualTo("DANE-EE(3) SPKI SHA2-512");
    }

    @Test
    void spkiIsMatchedAsTheCertificateCarriesIt() throws Exception {
        // The same RSA key with its algorithm's NULL parameters left out: the JDK re-encodes the key with them, but
        // the TLSA record is made from the certificate's own bytes (RFC 6698 §2.1.2), and DANE-EE checks no signature.
        byte[] tbs = leaf.getTBSCertificate();
        byte[] spki = DaneVerifier.subjectPublicKeyInfo(leaf);
        byte[] withNull = java.util.HexFormat.of().parseHex("300d06092a864886f70d0101010500");
        int algAt = indexOf(spki, withNull);
        assertThat(algAt).isPositive();
        byte[] bitString = java.util.Arrays.copyOfRange(spki, algAt + withNull.length, spki.length);
        byte[] bare = der(0x30, concat(java.util.HexFormat.of().parseHex("300b06092a864886f70d010101"), bitString));
        int spkiAt = indexOf(tbs, spki);
        byte[] tbsContent = concat(java.util.Arrays.copyOfRange(tbs, indexAfterHeader(tbs), spkiAt), bare,
                java.util.Arrays.copyOfRange(tbs, spkiAt + spki.length, tbs.length));
        byte[] whole = leaf.getEncoded();
        int tbsAt = indexOf(whole, tbs);
        byte[] rest = java.util.Arrays.copyOfRange(whole, tbsAt + tbs.length, whole.length);
        X509Certificate odd = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(der(0x30, concat(der(0x30, tbsContent), rest))));
        assertThat(odd.getPublicKey().getEncoded()).isNotEqualTo(bare); // the test's premise: the JDK re-encodes it
        DaneVerifier v = new DaneVerifier(List.of(new Tlsa(3, 1, 1, digest("SHA-256", bare))));
        assertThat(v.verify(List.of(odd), "mx1.example.test")).isEqualTo("DANE-EE(3) SPKI SHA2-256");
    }

    private static int indexAfterHeader(byte[] der) {
        int first = der[1] & 0xFF;
        return first < 0x80 ? 2 : 2 + (first & 0x7F);
    }

    private static int indexOf(byte[] in, byte[] part) {
        for (int i = 0; i + part.length <= in.length; i++) {
            if (java.util.Arrays.equals(in, i, i + part.length, part, 0, part.length)) {
                return i;
            }
        }
        return -1;
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** A DER element of {@code tag} around {@code content}. */
    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] length = n < 0x80 ? new byte[] {(byte) n}
                : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
                : new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
        return concat(new byte[] {(byte) tag}, length, content);
    }

    @Test
    void daneEeOfAnotherCertificateIsRefused() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ee(0, 2, otherNameLeaf)));
        assertThatThrownBy(() -> v.verify(List.of(leaf, ca), "mx1.example.test")).isInstanceOf(ServerAuthentication.Rejected.class);
    }

    @Test
    void oneMatchingRecordOfSeveralIsEnough() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ee(1, 1, otherNameLeaf), ta(1, 1, otherCa), ee(0, 1, leaf)));
        assertThat(v.verify(List.of(leaf, ca), "mx1.example.test")).isEqualTo("DANE-EE(3) Cert SHA2-256");
    }

    @Test
    void daneTaAuthenticatesAChainToTheAnchorWithTheRightName() throws Exception {
        for (int selector = 0; selector <= 1; selector++) {
            for (int matching = 0; matching <= 2; matching++) {
                DaneVerifier v = new DaneVerifier(List.of(ta(selector, matching, ca)));
                assertThat(v.verify(List.of(leaf, ca), "mx1.example.test")).startsWith("DANE-TA(2)");
                assertThat(v.verify(List.of(leaf, ca), "MX1.Example.Test.")).startsWith("DANE-TA(2)");
            }
        }
    }

    @Test
    void daneTaWithAnotherNameIsAHostMismatch() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ta(1, 1, ca)));
        assertThatThrownBy(() -> v.verify(List.of(otherNameLeaf, ca), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class,
                        r -> assertThat(r.resultType()).isEqualTo("certificate-host-mismatch"));
    }

    @Test
    void daneTaAcceptsTheTlsaBaseDomainAsReferenceIdentifier() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ta(1, 1, ca)), List.of("mail.elsewhere.test"), Clock.systemUTC());
        assertThat(v.verify(List.of(otherNameLeaf, ca), "mx1.example.test")).startsWith("DANE-TA(2)");
    }

    @Test
    void aWildcardCoversOneLabel() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ta(0, 1, ca)));
        assertThat(v.verify(List.of(wildcardLeaf, ca), "mx1.example.test")).startsWith("DANE-TA(2)");
        assertThatThrownBy(() -> v.verify(List.of(wildcardLeaf, ca), "a.mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class,
                        r -> assertThat(r.resultType()).isEqualTo("certificate-host-mismatch"));
        assertThatThrownBy(() -> v.verify(List.of(wildcardLeaf, ca), "example.test"))
                .isInstanceOf(ServerAuthentication.Rejected.class);
    }

    @Test
    void daneTaNotInThePresentedChainIsRefused() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ta(1, 1, ca)));
        // The server sends its certificate alone: the anchor must be in the chain (RFC 7672 §3.1.2).
        assertThatThrownBy(() -> v.verify(List.of(leaf), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class, r -> assertThat(r.resultType()).isEqualTo("validation-failure"));
        DaneVerifier other = new DaneVerifier(List.of(ta(1, 1, otherCa)));
        assertThatThrownBy(() -> other.verify(List.of(leaf, ca), "mx1.example.test")).isInstanceOf(ServerAuthentication.Rejected.class);
    }

    @Test
    void daneTaAcceptsTheCertificatesAboveTheServersInAnyOrder() throws Exception {
        // TLS 1.3 (RFC 8446 §4.4.2) lets the server send the certificates above its own in any order.
        Path ext = dir.resolve("intermediate.ext");
        Files.writeString(ext, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n");
        Certificates.openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.resolve("int.key").toString(),
                "-out", dir.resolve("int.csr").toString(), "-subj", "/CN=mxd test intermediate");
        Certificates.openssl("x509", "-req", "-in", dir.resolve("int.csr").toString(), "-CA", dir.resolve("ca.pem").toString(),
                "-CAkey", dir.resolve("ca.key").toString(), "-CAcreateserial", "-days", "2", "-extfile", ext.toString(),
                "-out", dir.resolve("int.pem").toString());
        Certificates.issued(dir.resolve("int.pem"), dir.resolve("int.key"), "mx1.example.test", dir.resolve("below.pem"),
                dir.resolve("below.key"));
        X509Certificate intermediate = read("int.pem");
        X509Certificate below = read("below.pem");
        DaneVerifier v = new DaneVerifier(List.of(ta(1, 1, ca)));
        assertThat(v.verify(List.of(below, intermediate, ca), "mx1.example.test")).startsWith("DANE-TA(2)");
        assertThat(v.verify(List.of(below, ca, intermediate), "mx1.example.test")).startsWith("DANE-TA(2)");
        // Without the intermediate there is no path: refused.
        assertThatThrownBy(() -> v.verify(List.of(below, ca), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class,
                        r -> assertThat(r.resultType()).isEqualTo("certificate-not-trusted"));
    }

    @Test
    void daneTaNeedsTheChainToVerify() throws Exception {
        // otherCa is named by the record and sent, but did not sign the server's certificate.
        DaneVerifier v = new DaneVerifier(List.of(ta(1, 1, otherCa)));
        assertThatThrownBy(() -> v.verify(List.of(leaf, otherCa), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class,
                        r -> assertThat(r.resultType()).isEqualTo("certificate-not-trusted"));
    }

    @Test
    void daneTaChecksValidityBelowTheAnchor() throws Exception {
        DaneVerifier later = new DaneVerifier(List.of(ta(1, 1, ca)), List.of(),
                Clock.fixed(leaf.getNotAfter().toInstant().plusSeconds(3600), java.time.ZoneOffset.UTC));
        assertThatThrownBy(() -> later.verify(List.of(leaf, ca), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class,
                        r -> assertThat(r.resultType()).isEqualTo("certificate-expired"));
    }

    @Test
    void daneTaDoesNotMatchTheServersOwnCertificate() throws Exception {
        DaneVerifier v = new DaneVerifier(List.of(ta(0, 1, leaf)));
        assertThatThrownBy(() -> v.verify(List.of(leaf, ca), "mx1.example.test")).isInstanceOf(ServerAuthentication.Rejected.class);
    }

    @Test
    void certificateNamesFromTheRemoteServerAreEscapedInTheLogAndInMessages() throws Exception {
        // The remote domain chooses its CA's subject: a line break in it must not end the log line (nor forge one).
        Certificates.privateCa(dir.resolve("evil.pem"), dir.resolve("evil.key"), "Evil\nX\u202E");
        Certificates.issued(dir.resolve("evil.pem"), dir.resolve("evil.key"), "mx1.example.test", dir.resolve("evil-leaf.pem"),
                dir.resolve("evil-leaf.key"));
        X509Certificate evilCa = read("evil.pem");
        X509Certificate evilLeaf = read("evil-leaf.pem");
        assertThat(evilCa.getSubjectX500Principal().getName()).contains("\n"); // the test's premise
        try (dev.mxd.testing.LogCapture log = dev.mxd.testing.LogCapture.start(ch.qos.logback.classic.Level.INFO)) {
            String how = new DaneVerifier(List.of(ta(1, 1, evilCa))).verify(List.of(evilLeaf, evilCa), "mx1.example.test");
            assertThat(how).contains("Evil").doesNotContain("\n").doesNotContain("\u202E");
            assertThat(log.lines()).anyMatch(l -> l.contains("TLS authenticated by DANE") && l.contains("Evil"))
                    .allMatch(l -> !l.contains("\n") && !l.contains("\u202E"));
        }
        // A rejection quotes the server's certificate: escaped too.
        DaneVerifier other = new DaneVerifier(List.of(ee(1, 1, leaf)));
        assertThatThrownBy(() -> other.verify(List.of(evilCa), "mx1.example.test"))
                .isInstanceOfSatisfying(ServerAuthentication.Rejected.class, r -> assertThat(r.getMessage()).contains("Evil")
                        .doesNotContain("\n").doesNotContain("\u202E"));
    }

    @Test
    void onlyDaneUsagesAndKnownParametersAreUsable() {
        assertThat(new Tlsa(3, 1, 1, new byte[32]).usable()).isTrue();
        assertThat(new Tlsa(2, 0, 2, new byte[64]).usable()).isTrue();
        assertThat(new Tlsa(1, 1, 1, new byte[32]).usable()).isFalse(); // PKIX-EE
        assertThat(new Tlsa(0, 1, 1, new byte[32]).usable()).isFalse(); // PKIX-TA
        assertThat(new Tlsa(3, 2, 1, new byte[32]).usable()).isFalse();
        assertThat(new Tlsa(3, 1, 3, new byte[32]).usable()).isFalse();
        assertThat(new Tlsa(3, 1, 1, new byte[20]).usable()).isFalse(); // wrong length for SHA2-256
        assertThatThrownBy(() -> new DaneVerifier(List.of(new Tlsa(1, 1, 1, new byte[32])))).isInstanceOf(IllegalArgumentException.class);
    }
}
