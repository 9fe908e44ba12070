package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import jakarta.mail.BodyPart;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class DsnWriterTest {

    private static final byte[] ORIGINAL = ("From: alice@example.test\r\nTo: bob@example.org\r\nSubject: hello\r\n"
            + "Message-ID: <m1@example.test>\r\n\r\nHi Bob.\r\n").getBytes(StandardCharsets.US_ASCII);

    private static DsnReport report(boolean full, byte[] original) {
        DsnReport.Recipient failed = new DsnReport.Recipient("bob@example.org", Optional.of("rfc822;Bob@Example.org"),
                DsnReport.Action.FAILED, "5.1.1", Optional.of("mx1.example.org"),
                Optional.of(new DsnReport.Diagnostic(DsnReport.DiagnosticType.SMTP, "550 5.1.1 <bob@example.org>: no such user")),
                Instant.parse("2026-11-26T10:05:00Z"));
        return new DsnReport("mx.example.test", "Q123", Optional.of("ENV-42"), "alice@example.test", DsnReport.Audience.SENDER,
                Instant.parse("2026-11-26T10:00:00Z"), List.of(failed), full, false, original);
    }

    private static MimeMessage parse(byte[] bytes) throws Exception {
        return new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(bytes));
    }

    private static String text(BodyPart p) throws Exception {
        try (InputStream in = p.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void failureReportIsMultipartReportWithTheRfc3464Fields() throws Exception {
        MimeMessage m = parse(new DsnWriter().write(report(true, ORIGINAL)));
        assertThat(m.getContentType()).startsWith("multipart/report").contains("report-type=delivery-status");
        assertThat(m.getHeader("To")[0]).contains("alice@example.test");
        assertThat(m.getHeader("Auto-Submitted")[0]).isEqualTo("auto-replied");
        assertThat(m.getFrom()[0].toString()).contains("MAILER-DAEMON@mx.example.test");
        MimeMultipart mp = (MimeMultipart) m.getContent();
        assertThat(mp.getCount()).isEqualTo(3);
        assertThat(mp.getBodyPart(0).getContentType()).startsWith("text/plain");
        assertThat(text(mp.getBodyPart(0))).contains("bob@example.org", "550 5.1.1", "permanent");
        assertThat(mp.getBodyPart(1).getContentType()).startsWith("message/delivery-status");
        String status = text(mp.getBodyPart(1));
        assertThat(status).contains("Reporting-MTA: dns; mx.example.test", "Original-Envelope-Id: ENV-42",
                "Arrival-Date: Thu, 26 Nov 2026 10:00:00 +0000", "Original-Recipient: rfc822;Bob@Example.org",
                "Final-Recipient: rfc822; bob@example.org", "Action: failed", "Status: 5.1.1",
                "Remote-MTA: dns; mx1.example.org", "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: no such user");
        // RFC 3464 §2.2's order: the envelope id first, then the reporting MTA and the arrival date, extension fields last
        assertThat(status.lines().takeWhile(l -> !l.isEmpty()).map(l -> l.substring(0, l.indexOf(':'))).toList())
                .containsExactly("Original-Envelope-Id", "Reporting-MTA", "Arrival-Date", "X-Mxd-Queue-ID");
        assertThat(mp.getBodyPart(2).getContentType()).startsWith("message/rfc822");
        assertThat(text(mp.getBodyPart(2))).contains("Subject: hello", "Hi Bob.");
    }

    /**
     * A failure at the end of the queue lifetime (4.4.7, the last problem a temporary one, such as a 554 greeting that
     * sent mxd to the next MX) says the time ran out, not "a permanent error": the notice quoted a 554 under that
     * sentence, read as a refusal for good.
     */
    @Test
    void anExpiredMessageSaysItsTimeRanOutNotThatTheErrorWasPermanent() throws Exception {
        DsnReport.Recipient expired = new DsnReport.Recipient("bob@example.org", Optional.empty(), DsnReport.Action.FAILED, "4.4.7",
                Optional.of("mx1.example.org"), Optional.of(new DsnReport.Diagnostic(DsnReport.DiagnosticType.SMTP,
                "554 5.7.1 No SMTP service here")), Instant.parse("2026-12-01T10:05:00Z"));
        DsnReport r = new DsnReport("mx.example.test", "Q9", Optional.empty(), "alice@example.test", DsnReport.Audience.SENDER,
                Instant.parse("2026-11-26T10:00:00Z"), List.of(expired), true, false, ORIGINAL);
        MimeMultipart mp = (MimeMultipart) parse(new DsnWriter().write(r)).getContent();
        assertThat(text(mp.getBodyPart(0))).contains("until the time allowed for its delivery ran out", "554 5.7.1 No SMTP service here",
                "Status: 4.4.7").doesNotContain("permanent");
        assertThat(text(mp.getBodyPart(1))).contains("Action: failed", "Status: 4.4.7");
    }

    /** A success line for an alias written into several mailboxes says "expanded" in both parts (RFC 3464 §2.3.3). */
    @Test
    void anExpandedAliasIsSaidSo() throws Exception {
        DsnReport.Recipient team = new DsnReport.Recipient("team@example.test", Optional.empty(), DsnReport.Action.EXPANDED, "2.0.0",
                Optional.empty(), Optional.of(new DsnReport.Diagnostic(DsnReport.DiagnosticType.MXD, "delivered to maildir")),
                Instant.parse("2026-12-01T10:05:00Z"));
        DsnReport r = new DsnReport("mx.example.test", "Q8", Optional.empty(), "alice@example.test", DsnReport.Audience.SENDER,
                Instant.parse("2026-12-01T10:00:00Z"), List.of(team), false, false, ORIGINAL);
        MimeMultipart mp = (MimeMultipart) parse(new DsnWriter().write(r)).getContent();
        assertThat(text(mp.getBodyPart(0))).contains("<team@example.test> was delivered to the mailboxes", "Status: 2.0.0");
        assertThat(text(mp.getBodyPart(1))).contains("Final-Recipient: rfc822; team@example.test", "Action: expanded");
    }

    @Test
    void retHdrsReturnsOnlyTheHeaders() throws Exception {
        MimeMultipart mp = (MimeMultipart) parse(new DsnWriter().write(report(false, ORIGINAL))).getContent();
        assertThat(mp.getBodyPart(2).getContentType()).startsWith("text/rfc822-headers");
        assertThat(text(mp.getBodyPart(2))).contains("Subject: hello").doesNotContain("Hi Bob.");
    }

    @Test
    void largeOriginalComesBackAsHeadersOnly() throws Exception {
        byte[] big = (new String(ORIGINAL, StandardCharsets.US_ASCII) + "x".repeat(200) + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        MimeMultipart mp = (MimeMultipart) parse(new DsnWriter(100).write(report(true, big))).getContent();
        assertThat(mp.getBodyPart(2).getContentType()).startsWith("text/rfc822-headers");
    }

    @Test
    void neverAddressedToTheNullPath() {
        assertThatThrownBy(() -> new DsnReport("mx.example.test", "Q1", Optional.empty(), "", DsnReport.Audience.SENDER,
                Instant.now(), report(true, ORIGINAL).recipients(), true, false, ORIGINAL)).hasMessageContaining("null path");
    }

    @Test
    void longFieldsAreFoldedAtSpacesAndUnfoldBackToTheSameText() {
        String line = "Diagnostic-Code: X-mxd; " + "word ".repeat(60).strip();
        String folded = DsnWriter.fold(line);
        assertThat(folded.split("\r\n")).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(78)).hasSizeGreaterThan(3);
        assertThat(folded.replace("\r\n", "")).isEqualTo(line);
        assertThat(DsnWriter.fold("Status: 5.1.1")).isEqualTo("Status: 5.1.1\r\n");
    }

    /**
     * A server's reply with a long run of spaces (or many empty continuation lines joined by spaces) folded into a line
     * of spaces only, which reads as the blank line that ends a recipient's group; Unicode line separators, C1's NEL
     * and bidi overrides went into the report as they came. Runs become one space, the rest a space.
     */
    @Test
    void aServersWhiteSpaceAndLineSeparatorsNeverMakeALineOfTheirOwn() {
        String folded = DsnWriter.fold("Diagnostic-Code: smtp; " + DsnWriter.oneLine("550 5.1.1 no such user" + " ".repeat(150)));
        assertThat(folded.split("\r\n")).allSatisfy(l -> assertThat(l).isNotBlank());
        assertThat(folded).isEqualTo("Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n");
        assertThat(DsnWriter.fold("Diagnostic-Code: smtp; " + DsnWriter.oneLine("550 x" + " ".repeat(1200) + "text")).split("\r\n"))
                .allSatisfy(l -> assertThat(l).isNotBlank());
        String forged = DsnWriter.fold("Diagnostic-Code: smtp; " + DsnWriter.oneLine("550 5.1.1 x\u2028Final-Recipient: rfc822;"
                + " forged@example\u0085Action: delivered\u202Eevil"));
        assertThat(forged).doesNotContain("\u2028").doesNotContain("\u0085").doesNotContain("\u202E");
        assertThat(forged.split("\r\n")).allSatisfy(l -> assertThat(l.startsWith("Diagnostic-Code") || l.startsWith(" ")).as(l).isTrue());
        assertThat(DsnWriter.oneLine("    indented  text  ")).as("indentation kept, inner runs one space").isEqualTo("    indented text");
        // addresses are not a server's words: a ZWJ (U+200D, a format character) or a double space in a quoted local part stays
        String address = "Final-Recipient: utf-8; \"a  b\"\u200D@example.test";
        assertThat(DsnWriter.fold(address)).isEqualTo(address + "\r\n");
    }

    @Test
    void headersEndAtTheFirstEmptyLine() {
        assertThat(new String(DsnWriter.headersOf(ORIGINAL), StandardCharsets.US_ASCII))
                .endsWith("Message-ID: <m1@example.test>\r\n");
        assertThat(new String(DsnWriter.headersOf("A: b\n\nbody".getBytes(StandardCharsets.US_ASCII)),
                StandardCharsets.US_ASCII)).isEqualTo("A: b\n");
    }

    /**
     * ENVID and ORCPT are the client's text: decoded to a CR LF they would add a recipient group
     * (or a second Action) of the client's choosing to the delivery-status part. They go back
     * xtext-encoded (RFC 3464 §2.2.1, §2.3.1), so an envelope already on disk cannot do it either.
     */
    @Test
    void envelopeIdAndOriginalRecipientCannotAddFieldsOrRecipientGroups() throws Exception {
        DsnReport.Recipient failed = new DsnReport.Recipient("bob@example.org",
                Optional.of("rfc822;bob@example.org\r\nAction: delivered"),
                DsnReport.Action.FAILED, "5.1.1", Optional.of("mx1.example.org"), Optional.empty(), Instant.parse("2026-11-26T10:05:00Z"));
        DsnReport r = new DsnReport("mx.example.test", "Q1",
                Optional.of("x\r\n\r\nFinal-Recipient: rfc822; ceo@victim.test\r\nAction: delivered\r\nStatus: 2.0.0"),
                "alice@example.test", DsnReport.Audience.SENDER, Instant.parse("2026-11-26T10:00:00Z"), List.of(failed), true, false,
                "Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII));
        String status = DsnWriter.deliveryStatus(r);
        assertThat(status).doesNotContain("\r\nFinal-Recipient: rfc822; ceo@victim.test\r\n");
        assertThat(status).doesNotContain("\r\nAction: delivered\r\n");
        assertThat(status.replace("\r\n ", " ")).contains("Original-Envelope-Id: x+0D+0A+0D+0AFinal-Recipient:+20rfc822;+20ceo@victim.test+0D+0A",
                "Original-Recipient: rfc822;bob@example.org+0D+0AAction:+20delivered\r\n");
        // Exactly one per-message group and one recipient group, the one that failed.
        assertThat(status.split("\r\n\r\n")).hasSize(2);
        assertThat(status).containsOnlyOnce("Action: ").contains("Action: failed");
        // Read by a MIME parser as the bounce processor would: the status part still says failed.
        MimeMultipart mp = (MimeMultipart) parse(new DsnWriter().write(r)).getContent();
        String part = text(mp.getBodyPart(1));
        assertThat(part).doesNotContain("ceo@victim.test\r\n").doesNotContain("Action: delivered");
        // A "+" or "=" in an ORCPT address is encoded too; plain values read as before.
        DsnReport.Recipient plus = new DsnReport.Recipient("b+x@example.org", Optional.of("rfc822;B+x@example.org"),
                DsnReport.Action.FAILED, "5.1.1", Optional.empty(), Optional.empty(), Instant.parse("2026-11-26T10:05:00Z"));
        assertThat(DsnWriter.deliveryStatus(new DsnReport("mx.example.test", "Q1", Optional.of("ENV-42"), "alice@example.test",
                DsnReport.Audience.SENDER, Instant.parse("2026-11-26T10:00:00Z"), List.of(plus), true, false, ORIGINAL)))
                .contains("Original-Envelope-Id: ENV-42\r\n", "Original-Recipient: rfc822;B+2Bx@example.org\r\n");
    }

    /**
     * RFC 6533 §3: an original recipient with UTF-8 in it is of type utf-8, '+' and '=' written
     * \\x{HEX}; in ASCII (and the report not global) unless the original came with SMTPUTF8. A
     * bidirectional override in an address of another type is never written as it is.
     */
    @Test
    void aUtf8OriginalRecipientIsOfTypeUtf8() throws Exception {
        DsnReport.Recipient r = new DsnReport.Recipient("j@example.org", Optional.of("rfc822;j\u00fcrgen+x=y@example.org"),
                DsnReport.Action.FAILED, "5.1.1", Optional.empty(), Optional.empty(), Instant.parse("2026-11-26T10:05:00Z"));
        DsnReport.Recipient x400 = new DsnReport.Recipient("b@example.org", Optional.of("x400;a\u202eb"),
                DsnReport.Action.FAILED, "5.1.1", Optional.empty(), Optional.empty(), Instant.parse("2026-11-26T10:05:00Z"));
        for (boolean international : new boolean[] {false, true}) {
            DsnReport report = new DsnReport("mx.example.test", "Q1", Optional.empty(), "alice@example.test",
                    DsnReport.Audience.SENDER, Instant.parse("2026-11-26T10:00:00Z"), List.of(r, x400), true, international, ORIGINAL);
            String status = DsnWriter.deliveryStatus(report);
            assertThat(status).contains(international ? "Original-Recipient: utf-8;j\u00fcrgen\\x{2B}x\\x{3D}y@example.org\r\n"
                    : "Original-Recipient: utf-8;j\\x{FC}rgen\\x{2B}x\\x{3D}y@example.org\r\n");
            assertThat(status).contains("Original-Recipient: x400;a+E2+80+AEb\r\n").doesNotContain("\u202e");
            String whole = new String(new DsnWriter().write(report), StandardCharsets.UTF_8);
            assertThat(whole.contains("report-type=global-delivery-status")).as("global").isEqualTo(international);
        }
    }

    /** RFC 5322 §2.1.1: no line of a DSN is longer than 998 octets, even a Diagnostic-Code without spaces. */
    @Test
    void noLineIsLongerThan998OctetsEvenForALongTokenWithoutSpaces() throws Exception {
        String token = "x".repeat(2500) + "\u00e9".repeat(700);
        String diagnostic = "550 5.7.1 " + token + " end";
        DsnReport.Recipient failed = new DsnReport.Recipient("bob@example.org", Optional.empty(),
                DsnReport.Action.FAILED, "5.7.1", Optional.of("mx1.example.org"),
                Optional.of(new DsnReport.Diagnostic(DsnReport.DiagnosticType.SMTP, diagnostic)),
                Instant.parse("2026-11-26T10:05:00Z"));
        DsnReport r = new DsnReport("mx.example.test", "Q1", Optional.empty(), "alice@example.test", DsnReport.Audience.SENDER,
                Instant.parse("2026-11-26T10:00:00Z"), List.of(failed), true, false, ORIGINAL);
        byte[] dsn = new DsnWriter().write(r);
        int start = 0;
        for (int i = 0; i < dsn.length; i++) {
            if (dsn[i] == '\n') {
                assertThat(i - start - 1).as("line at octet %d", start).isLessThanOrEqualTo(998);
                start = i + 1;
            }
        }
        // Unfolded, the field holds the whole diagnostic; the breaks only add folding white space.
        String field = DsnWriter.fold("Diagnostic-Code: smtp; " + diagnostic);
        assertThat(field.split("\r\n")).hasSizeGreaterThan(3).allSatisfy(l -> {
            assertThat(l.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(998);
            assertThat(l).isNotBlank();
        });
        assertThat(field.replace("\r\n", "").replace(" ", "")).isEqualTo(("Diagnostic-Code: smtp; " + diagnostic).replace(" ", ""));
        MimeMultipart mp = (MimeMultipart) parse(dsn).getContent();
        // Not an SMTPUTF8 report: the server's non-ASCII characters are written as '?'.
        assertThat(text(mp.getBodyPart(1)).replace("\r\n ", "")).contains(token.replace('\u00e9', '?'));
    }

    /** mxd's own diagnostic texts cite sections with "§": written "section", not "?" ("RFC 5321 ?4.2.1"). */
    @Test
    void aSectionSignInOurOwnTextIsWrittenSection() throws Exception {
        byte[] dsn = new DsnWriter().write(saying("reply code changed inside one reply (RFC 5321 \u00a74.2.1)", false, ORIGINAL));
        String status = text(((MimeMultipart) parse(dsn).getContent()).getBodyPart(1)).replace("\r\n ", " ");
        assertThat(status).contains("(RFC 5321 section 4.2.1)").doesNotContain("?4.2.1");
    }

    /** A report with one failed recipient whose server said {@code diagnostic}; for the postmaster when {@code postmaster}. */
    private static DsnReport saying(String diagnostic, boolean postmaster, byte[] original) {
        DsnReport.Recipient failed = new DsnReport.Recipient("bob@example.org", Optional.empty(), DsnReport.Action.FAILED, "5.1.1",
                Optional.of("mx1.example.org"), Optional.of(new DsnReport.Diagnostic(DsnReport.DiagnosticType.SMTP, diagnostic)),
                Instant.parse("2026-11-26T10:05:00Z"));
        return new DsnReport("mx.example.test", "Q1", Optional.empty(), postmaster ? "postmaster@example.test" : "alice@example.test",
                postmaster ? DsnReport.Audience.POSTMASTER : DsnReport.Audience.SENDER, Instant.parse("2026-11-26T10:00:00Z"),
                List.of(failed), false, false, original);
    }

    /**
     * A remote server's non-ASCII reply does not make the report global (that is for SMTPUTF8 mail, RFC 6533): its
     * characters are written as '?', as Postfix masks them; a run of spaces is never folded into a line of white
     * space only (obs-FWS, and a blank line ends a recipient's group); the status part keeps its last CRLF
     * (RFC 2046 §5.1.1 gives the one before the boundary to the boundary); the postmaster's copy is auto-generated.
     */
    @Test
    void theReportStaysAsciiWellFoldedAndEndsItsLastField() throws Exception {
        byte[] bytes = new DsnWriter().write(saying("550 5.1.1 Benutzer unbekannt \u2013 " + " ".repeat(200) + "blocked", false, ORIGINAL));
        MimeMessage m = parse(bytes);
        assertThat(m.getContentType()).contains("report-type=delivery-status").doesNotContain("global");
        MimeMultipart mp = (MimeMultipart) m.getContent();
        String status = text(mp.getBodyPart(1));
        assertThat(status).contains("Diagnostic-Code: smtp; 550 5.1.1 Benutzer unbekannt ? ").endsWith("\r\n");
        assertThat(status.chars().allMatch(c -> c < 0x80)).isTrue();
        assertThat(status.split("\r\n", -1)).as("no line of white space only").noneSatisfy(l -> assertThat(l).isNotEmpty().isBlank());
        assertThat(status.split("\r\n\r\n")).as("one per-message group, one recipient group").hasSize(2);
        assertThat(text(mp.getBodyPart(0))).endsWith("\r\n");
        assertThat(m.getHeader("Auto-Submitted")[0]).isEqualTo("auto-replied");
        assertThat(parse(new DsnWriter().write(saying("550 no", true, ORIGINAL))).getHeader("Auto-Submitted")[0])
                .as("RFC 3834 §5: the postmaster's copy answers nothing").isEqualTo("auto-generated");
    }

    /** A header section longer than what is read of it comes back as whole lines, never cut inside one or between CR and LF. */
    @Test
    void aCutHeaderSectionEndsAtItsLastWholeLine() {
        byte[] cut = ("Subject: s\r\nX-Big: " + "a".repeat(100)).getBytes(StandardCharsets.US_ASCII);
        assertThat(new String(DsnWriter.headersOf(cut), StandardCharsets.US_ASCII)).isEqualTo("Subject: s\r\n");
        byte[] betweenCrAndLf = "Subject: s\r\nTo: b@x.test\r".getBytes(StandardCharsets.US_ASCII);
        assertThat(new String(DsnWriter.headersOf(betweenCrAndLf), StandardCharsets.US_ASCII)).isEqualTo("Subject: s\r\n");
    }
}
