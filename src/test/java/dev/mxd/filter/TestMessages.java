package dev.mxd.filter;

import dev.mxd.testing.Clamd;
import dev.mxd.testing.Spamd;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** Messages for the end-to-end filter tests: ordinary, EICAR attached as plain text, GTUBE. */
final class TestMessages {

    static final ScanEnvelope ENVELOPE = ScanEnvelope.of("Q1", "alice@x.test", List.of("bob@example.test"));

    static MessageSource clean() {
        return message("Lunch on Friday", "Are we still on for lunch on Friday at noon?\r\n\r\nAlice\r\n");
    }

    /**
     * EICAR as a base64 attachment: clamd decodes MIME parts and scans each one, and the .hdb signature
     * is the MD5 of the 68-byte file itself, so it must arrive as a part of its own.
     */
    static MessageSource eicar() {
        return MessageSource.of(eicarText().getBytes(StandardCharsets.US_ASCII));
    }

    /** {@link #eicar()} as text, for tests that send it over SMTP. */
    static String eicarText() {
        String b64 = Base64.getMimeEncoder().encodeToString(Clamd.EICAR.getBytes(StandardCharsets.US_ASCII));
        return ("From: Alice <alice@x.test>\r\nTo: Bob <bob@example.test>\r\nSubject: Test file\r\n"
                + "Date: Thu, 26 Nov 2026 05:00:00 +0000\r\nMessage-ID: <eicar@x.test>\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n"
                + "--b1\r\nContent-Type: application/octet-stream; name=\"eicar.com\"\r\nContent-Transfer-Encoding: base64\r\n"
                + "Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n" + b64 + "\r\n--b1--\r\n");
    }

    static MessageSource gtube() {
        return message("Test spam", "This is the GTUBE, the\r\n\tGeneric\r\n\tTest for\r\n\tUnsolicited\r\n\tBulk\r\n\tEmail\r\n\r\n"
                + Spamd.GTUBE + "\r\n");
    }

    static MessageSource message(String subject, String body) {
        return MessageSource.of(("From: Alice <alice@x.test>\r\nTo: Bob <bob@example.test>\r\nSubject: " + subject
                + "\r\nDate: Thu, 26 Nov 2026 05:00:00 +0000\r\nMessage-ID: <" + subject.hashCode() + "@x.test>\r\n"
                + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
    }

    private TestMessages() {}
}
