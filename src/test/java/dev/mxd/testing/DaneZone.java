package dev.mxd.testing;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.awaitility.Awaitility;

/**
 * Real Knot serving {@code dane.test} signed (automatic signing) with TLSA records made from a private CA
 * (for DANE tests). The server certificate ({@link #chain()}, {@link #key()}) is for {@code mx-ta.dane.test},
 * issued by the CA and sent with it. Each domain below has MX hosts at 127.0.0.1 unless said otherwise:
 * <ul>
 *   <li>{@code ee}: {@code mx-ee}, TLSA 3 1 1 of the server's key</li>
 *   <li>{@code ta}: {@code mx-ta}, TLSA 2 0 1 of the CA's certificate (the server's certificate names it)</li>
 *   <li>{@code alias0}: {@code mx-alias0}, a CNAME with TTL 0 for {@code mx-target0} (address TTL 0, TLSA as
 *       {@code ee}), so no cache keeps the chain for a second lookup</li>
 *   <li>{@code taname}: {@code mx-taname} (same TLSA, a name the certificate does not carry), then {@code backup}
 *       at 127.0.0.2 without TLSA</li>
 *   <li>{@code wrong}: {@code mx-wrong}, TLSA 3 1 1 with a digest one bit off</li>
 *   <li>{@code none}: {@code mx-none}, no TLSA records</li>
 *   <li>{@code fail}: {@code mx-fail}, TLSA as {@code ee} (for a test that makes its lookup fail)</li>
 *   <li>{@code alias}: {@code mx-alias}, a CNAME for {@code mx-ta} (RFC 7672 §2.2.2), no TLSA records of its own</li>
 *   <li>{@code good}: {@code mx-ta}, with an {@code _mta-sts} record, its policy host {@code mta-sts.good} at
 *       {@link #POLICY_SERVER}, and a TLS-RPT record (for {@code mxd check})</li>
 *   <li>{@code stsbad}: {@code mx-ta}, likewise, its TLS-RPT record with no usable {@code rua}</li>
 * </ul>
 */
public final class DaneZone implements AutoCloseable {

    /** The address {@code mta-sts.good.dane.test} and {@code mta-sts.stsbad.dane.test} resolve to, for a policy server. */
    public static final String POLICY_SERVER = "127.0.0.96";

    private final Path dir;
    private final KnotServer knot;
    private final Path anchor;
    private final String eeRecord;

    private DaneZone(Path dir, KnotServer knot, Path anchor, String eeRecord) {
        this.dir = dir;
        this.knot = knot;
        this.anchor = anchor;
        this.eeRecord = eeRecord;
    }

    public static DaneZone start() throws Exception {
        Path dir = Files.createTempDirectory("mxd-dane");
        KnotServer knot = null;
        try {
            Certificates.privateCa(dir.resolve("ca.pem"), dir.resolve("ca.key"), "mxd DANE test CA");
            Certificates.issued(dir.resolve("ca.pem"), dir.resolve("ca.key"), "mx-ta.dane.test", dir.resolve("leaf.pem"),
                    dir.resolve("leaf.key"));
            Files.writeString(dir.resolve("chain.pem"), Files.readString(dir.resolve("leaf.pem")) + Files.readString(dir.resolve("ca.pem")));
            byte[] spki = sha256(read(dir.resolve("leaf.pem")).getPublicKey().getEncoded());
            String ee = HexFormat.of().formatHex(spki);
            String ta = HexFormat.of().formatHex(sha256(read(dir.resolve("ca.pem")).getEncoded()));
            spki[0] ^= 1;
            String wrong = HexFormat.of().formatHex(spki);
            Path zone = dir.resolve("dane.test.zone");
            Files.writeString(zone, String.join("\n",
                    "$ORIGIN dane.test.",
                    "$TTL 300",
                    "@ IN SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 300",
                    "@ IN NS ns",
                    "ns IN A 127.0.0.1",
                    "ee IN MX 10 mx-ee",
                    "mx-ee IN A 127.0.0.1",
                    "_25._tcp.mx-ee IN TLSA 3 1 1 " + ee,
                    "ta IN MX 10 mx-ta",
                    "mx-ta IN A 127.0.0.1",
                    "_25._tcp.mx-ta IN TLSA 2 0 1 " + ta,
                    "alias0 IN MX 10 mx-alias0",
                    "mx-alias0 0 IN CNAME mx-target0",
                    "mx-target0 0 IN A 127.0.0.1",
                    "_25._tcp.mx-target0 IN TLSA 3 1 1 " + ee,
                    "taname IN MX 10 mx-taname",
                    "taname IN MX 20 backup",
                    "mx-taname IN A 127.0.0.1",
                    "_25._tcp.mx-taname IN TLSA 2 0 1 " + ta,
                    "backup IN A 127.0.0.2",
                    "wrong IN MX 10 mx-wrong",
                    "mx-wrong IN A 127.0.0.1",
                    "_25._tcp.mx-wrong IN TLSA 3 1 1 " + wrong,
                    "none IN MX 10 mx-none",
                    "mx-none IN A 127.0.0.1",
                    "fail IN MX 10 mx-fail",
                    "mx-fail IN A 127.0.0.1",
                    "_25._tcp.mx-fail IN TLSA 3 1 1 " + ee,
                    "alias IN MX 10 mx-alias",
                    "mx-alias IN CNAME mx-ta",
                    "good IN MX 10 mx-ta",
                    "_mta-sts.good IN TXT \"v=STSv1; id=20261203\"",
                    "mta-sts.good IN A " + POLICY_SERVER,
                    "_smtp._tls.good IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@dane.test\"",
                    "stsbad IN MX 10 mx-ta",
                    "_mta-sts.stsbad IN TXT \"v=STSv1; id=20261203\"",
                    "mta-sts.stsbad IN A " + POLICY_SERVER,
                    "_smtp._tls.stsbad IN TXT \"v=TLSRPTv1; rua=ftp://reports.dane.test\"",
                    ""));
            Map<String, Path> zones = new LinkedHashMap<>();
            zones.put("dane.test", zone);
            knot = KnotServer.start(zones, Set.of("dane.test"));
            KnotServer k = knot;
            List<String> keys = Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                    .until(() -> SignedZones.keySigningKeys(k, "dane.test"), found -> !found.isEmpty());
            Path anchor = dir.resolve("dane.anchor");
            Files.writeString(anchor, String.join("\n", keys) + "\n");
            return new DaneZone(dir, knot, anchor, "3 1 1 " + ee);
        } catch (Exception e) {
            if (knot != null) {
                knot.close();
            }
            TestDirs.deleteTree(dir);
            throw e;
        }
    }

    private static X509Certificate read(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    public KnotServer knot() {
        return knot;
    }

    /** The zone's key-signing key, as dns.trust-anchors and --trust-anchor take it. */
    public Path anchor() {
        return anchor;
    }

    /** The private CA's certificate (PEM): what --ca-file trusts for MTA-STS. */
    public Path ca() {
        return dir.resolve("ca.pem");
    }

    /** The private CA's key, to issue more certificates ({@link Certificates#issuedBy}). */
    public Path caKey() {
        return dir.resolve("ca.key");
    }

    /** The server's certificate followed by the CA's (PEM), for smtpd_tls_cert_file. */
    public Path chain() {
        return dir.resolve("chain.pem");
    }

    /** The server certificate's key (PEM). */
    public Path key() {
        return dir.resolve("leaf.key");
    }

    /** The TLSA record of mx-ee (and mx-fail) in presentation form, hex in lower case. */
    public String eeRecord() {
        return eeRecord;
    }

    @Override
    public void close() {
        knot.close();
        TestDirs.deleteTree(dir);
    }
}
