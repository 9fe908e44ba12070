package dev.mxd.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mxd.smtp.client.MessageContent;
import dev.mxd.smtp.client.MimeDowngrade;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Jazzer target: the 8BITMIME-to-7-bit conversion, fed messages built from MIME fragments
 * (header fields naming multiparts, message/rfc822 and transfer encodings, boundary lines, empty
 * lines, folded lines) and arbitrary octets. It never throws, the size it declares is the size it
 * streams, and its output needs no second conversion: every part it leaves is 7-bit or encoded.
 */
public final class MimeDowngradeFuzzer {

    private static final String[] FRAGMENTS = {
        "Content-Type: multipart/mixed; boundary=b\r\n",
        "Content-Type: multipart/alternative; boundary=\"b c\"\r\n",
        "Content-Type: multipart/digest; boundary=d\r\n",
        "Content-Type: message/rfc822\r\n",
        "Content-Type: text/plain\r\n",
        "Content-Type: application/octet-stream\r\n",
        "Content-Type: message/global\r\n",
        "Content-Transfer-Encoding: 8bit\r\n",
        "Content-Transfer-Encoding: binary\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "Content-Transfer-Encoding: 7bit\r\n",
        "MIME-Version: 1.0\r\n",
        "Subject: x\r\n",
        " folded\r\n",
        "--b\r\n", "--b--\r\n", "--b junk\r\n", "--b c\r\n", "--b c--\r\n", "--d\r\n", "--d--\r\n",
        "\r\n", "\n", "\r", "-", "=", " ", "\t",
    };

    private MimeDowngradeFuzzer() {}

    public static void fuzzerTestOneInput(FuzzedDataProvider data) throws IOException {
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        for (int i = 0; i < 200 && data.remainingBytes() > 0; i++) {
            if (data.consumeBoolean()) {
                m.writeBytes(FRAGMENTS[data.consumeInt(0, FRAGMENTS.length - 1)].getBytes(StandardCharsets.US_ASCII));
            } else {
                m.writeBytes(data.consumeBytes(data.consumeInt(1, 64)));
            }
        }
        byte[] message = m.toByteArray();
        Optional<MessageContent> seven = MimeDowngrade.of(MessageContent.of(message));
        if (seven.isEmpty()) {
            return;
        }
        byte[] out;
        try (InputStream in = seven.get().open()) {
            out = in.readAllBytes();
        }
        if (out.length != seven.get().size()) {
            throw new AssertionError("declared " + seven.get().size() + " octets, streamed " + out.length);
        }
        Optional<MessageContent> again = MimeDowngrade.of(MessageContent.of(out));
        if (again.isPresent()) {
            throw new AssertionError("the converted text needs converting again:\n" + new String(out, StandardCharsets.ISO_8859_1));
        }
    }
}
