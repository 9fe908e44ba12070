package dev.mxd.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a delivered Maildir file holds, for the tests that compare it with what was sent: mxd
 * writes LF where the wire and the spool have CRLF (issue 15 point 7), every other octet as
 * sent. {@link #lf} gives the expected file for a sent text, octet for octet, so a test still
 * compares whole messages exactly.
 */
public final class MaildirText {

    private MaildirText() {
    }

    /** A delivered file's text (UTF-8), as it lies on disk. */
    public static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    /** What mxd stores for text sent as {@code crlf}: each CR LF pair becomes LF, nothing else changes. */
    public static String lf(String crlf) {
        return crlf.replace("\r\n", "\n");
    }

    /** {@link #lf(String)} on octets, for texts that are not UTF-8. */
    public static byte[] lf(byte[] crlf) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(crlf.length);
        for (int i = 0; i < crlf.length; i++) {
            if (crlf[i] == '\r' && i + 1 < crlf.length && crlf[i + 1] == '\n') {
                continue;
            }
            out.write(crlf[i]);
        }
        return out.toByteArray();
    }
}
