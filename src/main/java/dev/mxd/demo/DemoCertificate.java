package dev.mxd.demo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The STARTTLS certificate of one MX host of {@code mxd demo --secure}: a fresh ECDSA P-256 key and
 * a self-signed X.509 certificate for the host's name, made at each run with nothing but the JDK
 * (the DER of the certificate is written here; the JDK signs it and parses it back). A self-signed
 * certificate is what DANE-EE(3) is for (RFC 7672 §3.1.1): the TLSA record pins the key, no CA is
 * involved.
 *
 * @param host        the MX host name, the certificate's subject CN and its one DNS name
 * @param certificate the certificate
 * @param pem         the certificate, PEM
 * @param keyPem      its private key, unencrypted PKCS#8 PEM, as {@code tls.private-key} takes it
 */
record DemoCertificate(String host, X509Certificate certificate, String pem, String keyPem) {

    private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);
    // DER of the object identifiers used below.
    private static final byte[] ECDSA_WITH_SHA256 = {0x06, 0x08, 0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x04, 0x03, 0x02};
    private static final byte[] COMMON_NAME = {0x06, 0x03, 0x55, 0x04, 0x03};
    private static final byte[] SUBJECT_ALT_NAME = {0x06, 0x03, 0x55, 0x1D, 0x11};

    /** A new key and a certificate for {@code host}, valid from an hour ago for {@code days} days. */
    static DemoCertificate create(String host, int days) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair keys = g.generateKeyPair();
            Instant now = Instant.now();
            byte[] algorithm = der(0x30, ECDSA_WITH_SHA256);
            byte[] name = der(0x30, der(0x31, der(0x30, COMMON_NAME, der(0x0C, host.getBytes(StandardCharsets.UTF_8)))));
            byte[] altNames = der(0x30, der(0x82, host.getBytes(StandardCharsets.US_ASCII)));
            byte[] extensions = der(0xA3, der(0x30, der(0x30, SUBJECT_ALT_NAME, der(0x04, altNames))));
            byte[] tbs = der(0x30,
                    der(0xA0, der(0x02, new byte[] {2})), // version 3
                    der(0x02, new BigInteger(63, new SecureRandom()).add(BigInteger.ONE).toByteArray()),
                    algorithm,
                    name,
                    der(0x30, time(now.minusSeconds(3600)), time(now.plusSeconds(86_400L * days))),
                    name,
                    keys.getPublic().getEncoded(), // SubjectPublicKeyInfo
                    extensions);
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(keys.getPrivate());
            s.update(tbs);
            byte[] signature = s.sign(); // DER already (ECDSA-Sig-Value)
            byte[] bits = new byte[signature.length + 1];
            System.arraycopy(signature, 0, bits, 1, signature.length);
            byte[] cert = der(0x30, tbs, algorithm, der(0x03, bits));
            X509Certificate parsed = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(cert));
            parsed.verify(keys.getPublic());
            return new DemoCertificate(host, parsed, pem("CERTIFICATE", cert), pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK cannot make an ECDSA P-256 certificate for " + host + ": " + e.getMessage(), e);
        }
    }

    /** The data of a {@code TLSA 3 1 1} record for this certificate: SHA-256 of its SubjectPublicKeyInfo, hex. */
    String spkiSha256() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getPublicKey().getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no SHA-256 in this JDK", e);
        }
    }

    /** Writes {@code NAME.crt} and {@code NAME.key} (owner-only) into {@code dir}; returns the two paths. */
    Path[] write(Path dir, String name) throws IOException {
        Path crt = Files.writeString(dir.resolve(name + ".crt"), pem);
        Path key = dir.resolve(name + ".key");
        Files.deleteIfExists(key);
        try {
            Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            Files.createFile(key);
        }
        Files.writeString(key, keyPem);
        return new Path[] {crt, key};
    }

    private static byte[] time(Instant t) {
        return der(0x17, UTC_TIME.format(t).getBytes(StandardCharsets.US_ASCII));
    }

    /** One DER value: tag, definite length, and the parts as its contents. */
    private static byte[] der(int tag, byte[]... parts) {
        return dev.mxd.smtp.Der.tlv(tag, parts);
    }

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }
}
