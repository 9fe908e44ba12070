package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Files;
import java.nio.file.Path;

/** The certificate chain and private key (PEM files) that STARTTLS presents (RFC 3207). */
public record Tls(Path certificate, Path privateKey) {

    public Tls {
        readable("certificate", certificate);
        readable("private-key", privateKey);
    }

    @JsonCreator
    static Tls fromYaml(@JsonProperty(value = "certificate", required = true) String certificate,
                        @JsonProperty(value = "private-key", required = true) String privateKey) {
        if (certificate == null || privateKey == null) {
            throw new IllegalArgumentException("tls needs both certificate and private-key (PEM files)");
        }
        return new Tls(Path.of(certificate), Path.of(privateKey));
    }

    private static void readable(String key, Path p) {
        if (!Files.isReadable(p)) {
            throw new IllegalArgumentException(key + " file " + p + " does not exist or is not readable");
        }
    }
}
