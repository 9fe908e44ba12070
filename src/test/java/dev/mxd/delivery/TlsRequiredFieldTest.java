package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code TLS-Required: No} (RFC 8689 §5) found in a spooled text's header section, and only there. */
class TlsRequiredFieldTest {

    @TempDir
    Path dir;

    private boolean saysNo(String text) throws IOException {
        Path f = dir.resolve("ID");
        Files.write(f, text.getBytes(StandardCharsets.ISO_8859_1));
        return TlsRequiredField.saysNo(f);
    }

    @Test
    void theFieldInTheHeaderSection() throws IOException {
        assertThat(saysNo("Received: from x\r\n\tby y; Thu, 3 Dec 2026 23:00:00 +0000\r\nTLS-Required: No\r\nSubject: t\r\n\r\nbody\r\n")).isTrue();
        assertThat(saysNo("tls-required:   NO  \nSubject: t\n\nbody\n")).as("case, spaces and bare LF").isTrue();
        assertThat(saysNo("Subject: t\r\nTLS-Required:\r\n No\r\n\r\nbody\r\n")).as("folded").isTrue();
    }

    @Test
    void notInTheBodyNorWithAnotherValue() throws IOException {
        assertThat(saysNo("Subject: t\r\n\r\nTLS-Required: No\r\n")).isFalse();
        assertThat(saysNo("TLS-Required: Yes\r\nSubject: t\r\n\r\nbody\r\n")).isFalse();
        assertThat(saysNo("")).isFalse();
    }

    @Test
    void octetsAbove127AreReadOneForOne() throws IOException {
        assertThat(saysNo("Subject: caf\u00e9 \u00ff\r\nTLS-Required: No\r\n\r\n\u00e9\r\n")).isTrue();
    }

    @Test
    void aHeaderSectionLongerThanTheReadersBuffer() throws IOException {
        String filler = ("X-Filler: " + "a".repeat(70) + "\r\n").repeat(500); // about 40 KB before the field
        assertThat(saysNo(filler + "TLS-Required: No\r\n\r\nbody\r\n")).isTrue();
    }
}
