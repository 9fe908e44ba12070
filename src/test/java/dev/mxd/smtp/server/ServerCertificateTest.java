package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Tls;
import dev.mxd.testing.Certificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The certificate and key STARTTLS presents are checked before it is offered (issue 16 point 6):
 * each unusable pair is refused naming the file at fault, each usable but weak one loads with a
 * warning. The files are made by openssl and keytool, as an operator would make them.
 */
class ServerCertificateTest {

    @TempDir
    Path dir;

    private Path cert;
    private Path key;

    private ServerCertificate.Loading load() {
        return ServerCertificate.load(new Tls(cert, key), Instant.now());
    }

    /** Loading is refused, naming {@code file}. */
    private ServerCertificate.Refused refused(Path file) {
        ServerCertificate.Loading l = load();
        assertThat(l).isInstanceOf(ServerCertificate.Refused.class);
        assertThat(((ServerCertificate.Refused) l).file()).isEqualTo(file);
        return (ServerCertificate.Refused) l;
    }

    private void pair(String name) throws Exception {
        cert = dir.resolve(name + ".crt");
        key = dir.resolve(name + ".key");
        Certificates.selfSigned(cert, key);
    }

    @Test
    void goodPairLoadsWithoutWarnings() throws Exception {
        pair("good");
        ServerCertificate.Loading l = load();
        assertThat(l).isInstanceOf(ServerCertificate.Loaded.class);
        assertThat(((ServerCertificate.Loaded) l).warnings()).isEmpty();
    }

    @Test
    void keyOfAnotherCertificateIsRefused() throws Exception {
        pair("one");
        Path otherCert = dir.resolve("two.crt");
        Path otherKey = dir.resolve("two.key");
        Certificates.selfSigned(otherCert, otherKey);
        key = otherKey;
        ServerCertificate.Loading l = load();
        assertThat(l).isInstanceOf(ServerCertificate.Refused.class);
        ServerCertificate.Refused r = (ServerCertificate.Refused) l;
        assertThat(r.file()).isEqualTo(otherKey);
        assertThat(r.reason()).contains("is not the key of the certificate in " + cert);
    }

    @Test
    void encryptedKeyIsRefused() throws Exception {
        pair("enc");
        Path encrypted = dir.resolve("enc.p8");
        Certificates.openssl("pkcs8", "-topk8", "-in", key.toString(), "-out", encrypted.toString(), "-passout", "pass:secret");
        key = encrypted;
        assertThat(refused(encrypted).reason()).contains("encrypted with a passphrase");
    }

    /**
     * The traditional OpenSSL forms (PKCS#1 "BEGIN RSA PRIVATE KEY", SEC1 "BEGIN EC PRIVATE KEY", as
     * openssl genrsa -traditional and ecparam -genkey write them) are read: issue 3 asks for PEM files,
     * and such a key was refused at start (exit 78).
     */
    @Test
    void traditionalRsaAndEcKeysAreRead() throws Exception {
        pair("trad");
        Path pkcs1 = dir.resolve("trad.rsa");
        Certificates.openssl("pkey", "-in", key.toString(), "-traditional", "-out", pkcs1.toString());
        assertThat(Files.readString(pkcs1)).contains("BEGIN RSA PRIVATE KEY");
        key = pkcs1;
        assertThat(load()).isInstanceOf(ServerCertificate.Loaded.class);

        cert = dir.resolve("ec.crt");
        key = dir.resolve("ec.key");
        Certificates.openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", key.toString()); // EC PARAMETERS, then the key
        Certificates.openssl("req", "-x509", "-new", "-key", key.toString(), "-subj", "/CN=mx.example.test", "-days", "2",
                "-addext", "subjectAltName=DNS:mx.example.test", "-out", cert.toString());
        assertThat(Files.readString(key)).contains("BEGIN EC PARAMETERS").contains("BEGIN EC PRIVATE KEY");
        assertThat(load()).isInstanceOf(ServerCertificate.Loaded.class);

        Path otherEc = dir.resolve("other-ec.key"); // the SEC1 key of another certificate is still found out
        Certificates.openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", otherEc.toString());
        key = otherEc;
        assertThat(refused(otherEc).reason()).contains("is not the key of the certificate");
    }

    @Test
    void dsaKeyIsRefused() throws Exception {
        cert = dir.resolve("dsa.crt");
        key = dir.resolve("dsa.key");
        Certificates.selfSignedDsa(cert, key);
        assertThat(refused(key).reason()).contains("a DSA key signs no handshake");
    }

    @Test
    void certificateFileThatIsNoCertificateIsRefused() throws Exception {
        pair("swapped");
        cert = key; // the key where the certificate should be
        assertThat(refused(cert).reason()).containsAnyOf("no certificate", "not a PEM certificate");
    }

    @Test
    void keyFileWithoutKeyIsRefused() throws Exception {
        pair("nokey");
        key = cert; // the certificate where the key should be
        ServerCertificate.Refused r = (ServerCertificate.Refused) load();
        assertThat(r.reason()).contains("holds no PEM private key");
    }

    @Test
    void shortRsaKeyLoadsWithAWarning() throws Exception {
        cert = dir.resolve("short.crt");
        key = dir.resolve("short.key");
        Certificates.selfSignedRsa(cert, key, 1024);
        ServerCertificate.Loaded l = (ServerCertificate.Loaded) load();
        assertThat(l.warnings()).singleElement().asString().contains(cert.toString()).contains("1024 bits, under 2048");
    }

    @Test
    void expiredCertificateLoadsWithAWarning() throws Exception {
        cert = dir.resolve("old.crt");
        key = dir.resolve("old.key");
        Certificates.expired(cert, key);
        ServerCertificate.Loaded l = (ServerCertificate.Loaded) load();
        assertThat(l.warnings()).singleElement().asString().contains(cert.toString()).contains("expired on");
    }

    /**
     * One file holding the key and the chain, in either order, given as both the certificate and the key (Postfix's
     * smtpd_tls_key_file defaults to the certificate file): it was refused as "not a PEM certificate chain".
     */
    @Test
    void aFileHoldingTheKeyAndTheCertificateServesAsBoth() throws Exception {
        pair("day");
        for (boolean keyFirst : new boolean[] {true, false}) {
            java.nio.file.Path both = cert.resolveSibling("both-" + keyFirst + ".pem");
            String k = java.nio.file.Files.readString(key);
            String c = java.nio.file.Files.readString(cert);
            java.nio.file.Files.writeString(both, keyFirst ? k + c : c + k);
            assertThat(ServerCertificate.load(new Tls(both, both), Instant.now())).as("key first: %s", keyFirst)
                    .isInstanceOf(ServerCertificate.Loaded.class);
        }
    }

    /**
     * /health's TLS warnings are asked at each look: they were the ones of the moment the certificate was read (start,
     * reload), so a certificate that expired while mxd ran was served with /health saying nothing.
     */
    @Test
    void theOffersWarningsAreThoseOfTheMomentAsked() throws Exception {
        pair("day");
        Instant now = Instant.now();
        ServerCertificate.Loaded l = (ServerCertificate.Loaded) ServerCertificate.load(new Tls(cert, key), now);
        SmtpServer.TlsOffer offer = SmtpServer.TlsOffer.of(java.util.Optional.of(new Tls(cert, key)), java.util.Optional.of(l));
        assertThat(offer.warnings(now)).isEmpty();
        assertThat(offer.warnings(now.plusSeconds(3 * 86_400))).singleElement().asString().contains(cert.toString())
                .contains("expired on");
        assertThat(SmtpServer.TlsOffer.of(java.util.Optional.empty(), java.util.Optional.empty()).warnings(now)).isEmpty();
    }

    @Test
    void certificateExpiresByTheClockGiven() throws Exception {
        pair("day");
        ServerCertificate.Loaded l = (ServerCertificate.Loaded) ServerCertificate.load(new Tls(cert, key),
                Instant.now().plusSeconds(3 * 86_400));
        assertThat(l.warnings()).singleElement().asString().contains("expired on");
    }
}
