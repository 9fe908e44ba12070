package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code delivery.tls.report-dkim}: domain, selector and a PEM RSA key (PKCS#8 or PKCS#1), read when the file is loaded. */
class ReportDkimConfigTest {

    @TempDir
    Path dir;

    static Path pem(Path file, byte[] pkcs8) throws Exception {
        return Files.writeString(file, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pkcs8)
                + "\n-----END PRIVATE KEY-----\n");
    }

    private static String yaml(Path key) {
        return "hostname: mx.test\ndelivery:\n  tls:\n    report-dkim:\n      domain: Reports.Example\n      selector: tlsrpt\n"
                + "      private-key: " + key + "\n";
    }

    @Test
    void anRsaKeyIsReadAtLoad() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        Path key = pem(dir.resolve("dkim.pem"), gen.generateKeyPair().getPrivate().getEncoded());
        ReportDkim dkim = ConfigLoader.parse(yaml(key), Path.of("mxd.yaml")).delivery().tls().reportDkim().orElseThrow();
        assertThat(dkim.domain()).isEqualTo("reports.example");
        assertThat(dkim.selector()).isEqualTo("tlsrpt");
        assertThat(dkim.privateKey()).isEqualTo(key);
        assertThat(dkim.key().getAlgorithm()).isEqualTo("RSA");
        assertThat(ConfigLoader.parse("hostname: mx.test\n", Path.of("mxd.yaml")).delivery().tls().reportDkim()).isEmpty();
    }

    @Test
    void aMissingKeyFileIsAnErrorWithItsLine() {
        ConfigException e = ConfigLoaderTest.error(yaml(dir.resolve("missing.pem")));
        assertThat(e.line()).isEqualTo(7);
        assertThat(e.getMessage()).contains("missing.pem does not exist or cannot be read");
    }

    @Test
    void aNonRsaKeyOrAnotherFormatIsAnError() throws Exception {
        Path ec = pem(dir.resolve("ec.pem"), KeyPairGenerator.getInstance("EC").generateKeyPair().getPrivate().getEncoded());
        ConfigException e = ConfigLoaderTest.error(yaml(ec));
        assertThat(e.line()).isEqualTo(7);
        assertThat(e.getMessage()).contains("is not a PEM RSA private key");
        Path broken = Files.writeString(dir.resolve("rsa1.pem"), "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
        assertThat(ConfigLoaderTest.error(yaml(broken)).getMessage()).contains("is not a PEM RSA private key");
    }

    /** A PKCS#1 key, as opendkim-genkey and openssl genrsa -traditional write it, is read (it was refused). */
    @Test
    void aPkcs1KeyIsRead() throws Exception {
        Path pkcs8 = dir.resolve("k8.pem");
        Path pkcs1 = dir.resolve("k1.pem");
        dev.mxd.testing.Certificates.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pkcs8.toString());
        dev.mxd.testing.Certificates.openssl("pkey", "-in", pkcs8.toString(), "-traditional", "-out", pkcs1.toString());
        assertThat(Files.readString(pkcs1)).contains("-----BEGIN RSA PRIVATE KEY-----");
        ReportDkim one = ConfigLoader.parse(yaml(pkcs1), Path.of("mxd.yaml")).delivery().tls().reportDkim().orElseThrow();
        ReportDkim eight = ConfigLoader.parse(yaml(pkcs8), Path.of("mxd.yaml")).delivery().tls().reportDkim().orElseThrow();
        assertThat(one.key().getModulus()).isEqualTo(eight.key().getModulus());
        assertThat(one.key().getPrivateExponent()).isEqualTo(eight.key().getPrivateExponent());
    }

    @Test
    void domainAndSelectorAreRequired() {
        ConfigException e = ConfigLoaderTest.error("delivery:\n  tls:\n    report-dkim:\n      domain: d.example\n");
        assertThat(e.getMessage()).contains("delivery.tls.report-dkim.selector is missing");
    }
}
