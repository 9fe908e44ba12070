package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.interfaces.RSAPrivateKey;
import java.util.List;
import java.util.Locale;

/**
 * The {@code delivery.tls.report-dkim} key: the DKIM key TLS-RPT report mail is signed with
 * (RFC 8460 §3 wants report mail signed by the reporting domain). The key file is read when the
 * configuration is loaded, so a missing, unreadable or non-RSA key stops mxd with the key's line.
 *
 * @param domain     the signing domain ({@code d=}); also the reports' submitter
 * @param selector   the selector ({@code s=}): the public key is published at {@code SELECTOR._domainkey.DOMAIN}
 * @param privateKey the file the key was read from (PEM: PKCS#8 {@code BEGIN PRIVATE KEY} or PKCS#1 {@code BEGIN RSA PRIVATE KEY})
 * @param key        the RSA private key
 */
public record ReportDkim(String domain, String selector, Path privateKey, RSAPrivateKey key) {

    private static final List<String> AT = List.of("delivery", "tls", "report-dkim");

    @JsonCreator
    static ReportDkim fromYaml(@JsonProperty("domain") String domain, @JsonProperty("selector") String selector,
                               @JsonProperty("private-key") String privateKey) {
        String d = required("domain", domain).toLowerCase(Locale.ROOT);
        String s = required("selector", selector);
        if (!d.matches("[a-z0-9]([a-z0-9.-]*[a-z0-9])?") || !s.matches("[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")) {
            throw new ConfigProblem(AT, "delivery.tls.report-dkim: '" + d + "' / '" + s
                    + "' is not a domain name and a selector", null);
        }
        Path file = Path.of(required("private-key", privateKey));
        return new ReportDkim(d, s, file, read(file));
    }

    private static String required(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new ConfigProblem(AT, "delivery.tls.report-dkim." + key + " is missing", null);
        }
        return value.strip();
    }

    /** A PEM RSA private key, PKCS#8 or PKCS#1. */
    static RSAPrivateKey read(Path file) {
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new ConfigProblem(List.of("delivery", "tls", "report-dkim", "private-key"), "delivery.tls.report-dkim.private-key "
                    + file + " does not exist or cannot be read", e);
        }
        // PKCS#8, or PKCS#1 as opendkim-genkey and openssl genrsa -traditional write it (BEGIN RSA PRIVATE KEY), read as the
        // server's TLS key is
        try {
            java.security.PrivateKey key = dev.mxd.smtp.PemKeys.read(pem).orElseThrow(() -> new GeneralSecurityException(
                    "no -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY----- block"));
            if (key instanceof RSAPrivateKey rsa) {
                return rsa;
            }
            throw new GeneralSecurityException("not an RSA key");
        } catch (GeneralSecurityException | dev.mxd.smtp.PemKeys.Unreadable e) {
            throw new ConfigProblem(List.of("delivery", "tls", "report-dkim", "private-key"), "delivery.tls.report-dkim.private-key "
                    + file + " is not a PEM RSA private key: " + e.getMessage(), e);
        }
    }
}
