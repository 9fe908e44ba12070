package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** DKIM's relaxed canonicalization (RFC 6376 §3.4) and the signature field mxd puts in front of its report mail. */
class DkimSignerTest {

    @Test
    void relaxedHeaderAndBodyAsInTheExamplesOfSection345() {
        // RFC 6376 §3.4.5: "A: X\r\nB : Y\t\r\n\tZ  \r\n" → "a:X\r\nb:Y Z\r\n"
        String canon = DkimSigner.fields("A: X\r\nB : Y\t\r\n\tZ  \r\n").stream()
                .map(f -> DkimSigner.relaxedHeader(f.name(), f.value()) + "\r\n").collect(Collectors.joining());
        assertThat(canon).isEqualTo("a:X\r\nb:Y Z\r\n");
        // " C \r\nD \t E\r\n\r\n\r\n" → " C\r\nD E\r\n"
        assertThat(new String(DkimSigner.relaxedBody(" C \r\nD \t E\r\n\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
                StandardCharsets.US_ASCII)).isEqualTo(" C\r\nD E\r\n");
    }

    @Test
    void relaxedBodyEdges() {
        assertThat(DkimSigner.relaxedBody(new byte[0])).isEmpty();
        assertThat(DkimSigner.relaxedBody("\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).isEmpty();
        assertThat(new String(DkimSigner.relaxedBody("x".getBytes(StandardCharsets.US_ASCII)), StandardCharsets.US_ASCII))
                .as("a last line without CRLF gets one").isEqualTo("x\r\n");
    }

    @Test
    void theSignatureCoversTheListedFieldsThatArePresentAndTheRelaxedBody() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        KeyPair pair = gen.generateKeyPair();
        DkimSigner signer = DkimSigner.forReports("reports.example", "tlsrpt", pair.getPrivate());
        String message = "From: a@reports.example\r\nTo: b@example.org\r\nSubject:  hi \r\nX-Other: no\r\n\r\nbody \r\n\r\n";
        String signed = new String(signer.sign(message.getBytes(StandardCharsets.US_ASCII), Instant.ofEpochSecond(1796256000)),
                StandardCharsets.US_ASCII);
        assertThat(signed).startsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=reports.example; s=tlsrpt;")
                .contains("t=1796256000; h=From:To:Subject;").doesNotContain("l=").endsWith(message);
        String bh = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest("body\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertThat(signed).contains("bh=" + bh + ";");

        // The data signed (§3.7), made again here from the field as written, checked with the public key.
        String field = signed.substring(0, signed.indexOf("\r\nFrom:"));
        String b = field.substring(field.lastIndexOf("b=") + 2);
        String withoutB = field.substring("DKIM-Signature:".length(), field.lastIndexOf("b=") + 2);
        String input = "from:a@reports.example\r\nto:b@example.org\r\nsubject:hi\r\n"
                + DkimSigner.relaxedHeader("DKIM-Signature", withoutB);
        Signature rsa = Signature.getInstance("SHA256withRSA");
        rsa.initVerify(pair.getPublic());
        rsa.update(input.getBytes(StandardCharsets.US_ASCII));
        assertThat(rsa.verify(Base64.getDecoder().decode(b))).isTrue();
    }

    @Test
    void onlyRsaKeys() throws Exception {
        KeyPair ec = KeyPairGenerator.getInstance("EC").generateKeyPair();
        assertThatThrownBy(() -> new DkimSigner("d.example", "s", ec.getPrivate(), List.of("From")))
                .hasMessageContaining("RSA");
    }
}
