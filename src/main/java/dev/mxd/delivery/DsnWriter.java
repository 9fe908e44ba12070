package dev.mxd.delivery;

import dev.mxd.smtp.Utf8Text;
import dev.mxd.smtp.Xtext;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Locale;
import java.util.UUID;

/**
 * Writes a delivery status notification (RFC 3464) as a multipart/report (RFC 6522): a
 * human-readable part, the delivery-status part, and the original message (RET=FULL) or its
 * headers (RET=HDRS). Like Postfix's bounce_size_limit, a large original comes back as headers
 * only. Written by hand, octet for octet, so that each part has the transfer encoding its type
 * allows (RFC 2046 §5.2.1: a message/rfc822 part is 7bit or 8bit, never base64) and the
 * delivery-status part stays readable text.
 *
 * <p>An original that came with SMTPUTF8 goes back as RFC 6533 {@code message/global} (or
 * {@code message/global-headers}) beside a {@code message/global-delivery-status} part (RFC
 * 6533 §6), whose addresses may be UTF-8 ({@code utf-8} address type, RFC 6533 §3).
 */
public final class DsnWriter {

    /** Postfix's bounce_size_limit default: at most this much of the original comes back whole. */
    public static final int DEFAULT_RETURN_LIMIT = 50_000;

    /** RFC 5322 §3.3 date-time in UTC with a numeric zone: every mail mxd writes itself dates its header so. */
    static final DateTimeFormatter RFC5322 =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);
    /** RFC 5322 §2.1.1: lines SHOULD be at most 78 characters; longer fields are folded at a space. */
    private static final int LINE = 78;
    /** RFC 5322 §2.1.1: no line may be longer than 998 octets, CRLF not counted. */
    private static final int MAX_LINE = 998;

    private final int returnLimit;

    public DsnWriter(int returnLimit) {
        this.returnLimit = returnLimit;
    }

    public DsnWriter() {
        this(DEFAULT_RETURN_LIMIT);
    }

    /** The notification as bytes ready to spool (CRLF lines), addressed to the report's {@code notifyTo}. */
    public byte[] write(DsnReport report) {
        boolean whole = report.returnFull() && report.original().length <= returnLimit;
        byte[] returned = whole ? report.original() : headersOf(report.original());
        String status = deliveryStatus(report);
        // RFC 6533 §6: a UTF-8 field (an SMTPUTF8 address) needs the global type; so does an SMTPUTF8 original. Only
        // those: a remote server's non-ASCII reply text is written with '?' (deliveryStatus), as Postfix masks it.
        boolean global = report.international();
        String boundary = "=_mxd_" + UUID.randomUUID();
        String human = humanText(report);
        boolean eightBit = !ascii(human) || !ascii(status) || !ascii(returned);

        Out out = new Out();
        out.line("From: Mail Delivery System <MAILER-DAEMON@" + report.reportingMta() + ">");
        out.line("To: <" + report.notifyTo() + ">");
        out.line("Subject: " + subject(report));
        out.line("Date: " + RFC5322.format(Instant.now()));
        out.line("Message-ID: <" + UUID.randomUUID() + "@" + report.reportingMta() + ">");
        // RFC 3834 §5: no auto-reply loops; the postmaster's copy answers nothing the postmaster sent (Postfix: auto-generated).
        out.line("Auto-Submitted: " + (report.audience() == DsnReport.Audience.POSTMASTER ? "auto-generated" : "auto-replied"));
        out.line("MIME-Version: 1.0");
        // RFC 6522 §3: report-type is the subtype of the second part.
        out.line("Content-Type: multipart/report; report-type=" + (global ? "global-delivery-status" : "delivery-status") + ";");
        out.line("\tboundary=\"" + boundary + "\"");
        out.line("Content-Transfer-Encoding: " + (eightBit ? "8bit" : "7bit")); // RFC 2045 §6.4: a multipart is 7bit or 8bit
        out.line("");
        out.line("This is a MIME-encapsulated message.");
        out.line("");

        out.line("--" + boundary);
        out.line("Content-Description: Notification");
        out.line("Content-Type: text/plain; charset=utf-8");
        out.line("Content-Transfer-Encoding: " + encoding(human));
        out.line("");
        out.text(human);
        out.line(""); // RFC 2046 §5.1.1: the CRLF before a boundary is the boundary's: the part keeps its last line end

        out.line("--" + boundary);
        out.line("Content-Description: Delivery report");
        out.line("Content-Type: " + (global ? "message/global-delivery-status" : "message/delivery-status"));
        out.line("Content-Transfer-Encoding: " + encoding(status));
        out.line("");
        out.text(status);
        out.line(""); // RFC 3464 §2.1: every field ends with CRLF, the last one too

        if (!report.originalUnread()) { // RFC 3464 §2: the third part is optional; without the text there is none to give
            out.line("--" + boundary);
            boolean undelivered = report.recipients().stream().anyMatch(r -> r.action() == DsnReport.Action.FAILED);
            out.line("Content-Description: " + (undelivered ? "Undelivered " : "") + (whole ? "Message" : "Message Headers"));
            out.line("Content-Type: " + returnedType(whole, report.international()));
            out.line("Content-Transfer-Encoding: " + (ascii(returned) ? "7bit" : "8bit"));
            out.line("");
            out.octets(returned);
            out.line("");
        }
        out.line("--" + boundary + "--");
        return out.bytes();
    }

    /** RFC 6522 §3 and RFC 6533 §3: the whole message or only its header, global when it came with SMTPUTF8. */
    private static String returnedType(boolean whole, boolean international) {
        if (whole) {
            return international ? "message/global" : "message/rfc822";
        }
        return international ? "message/global-headers" : "text/rfc822-headers";
    }

    private static String encoding(String text) {
        return ascii(text) ? "7bit" : "8bit";
    }

    private static String subject(DsnReport report) {
        boolean failed = report.recipients().stream().anyMatch(r -> r.action() == DsnReport.Action.FAILED);
        boolean delayed = report.recipients().stream().anyMatch(r -> r.action() == DsnReport.Action.DELAYED);
        if (report.audience() == DsnReport.Audience.POSTMASTER) {
            return "Postmaster Copy: Undelivered Mail";
        }
        if (failed) {
            return "Undelivered Mail Returned to Sender";
        }
        return delayed ? "Delayed Mail (still being retried)" : "Successful Mail Delivery Report";
    }

    private static String humanText(DsnReport report) {
        StringBuilder sb = new StringBuilder();
        sb.append("This is the mail system at host ").append(report.reportingMta()).append(".\r\n\r\n");
        if (report.audience() == DsnReport.Audience.POSTMASTER) {
            sb.append("This copy is for the postmaster: the message's sender cannot be told (it is the null sender,\r\n"
                    + "it is a delivery notice that could not be delivered, or its address leads to no mailbox).\r\n"
                    + "No further notice is sent about this one.\r\n\r\n");
        }
        for (DsnReport.Recipient r : report.recipients()) {
            switch (r.action()) {
                case FAILED -> sb.append("Your message could not be delivered to <").append(r.finalRecipient()).append(">.\r\n")
                        // a 4.x.x failure is the end of the queue lifetime (4.4.7): the last problem was a temporary one
                        .append(r.status().startsWith("4") ? "It was tried again and again until the time allowed for its delivery ran out;\r\n"
                                + "it will not be tried again. The last problem met:\r\n"
                                : "This is a permanent error; it will not be retried.\r\n");
                case DELAYED -> sb.append("Your message to <").append(r.finalRecipient())
                        .append("> has not been delivered yet.\r\nIt will be retried; you need not resend it.\r\n");
                case RELAYED -> sb.append("Your message to <").append(r.finalRecipient()).append("> was handed to a server that\r\n"
                        + "does not send success notices: you will get no further success notice about it,\r\n"
                        + "though a later server may still tell you if it cannot be delivered.\r\n");
                case EXPANDED -> sb.append("Your message to <").append(r.finalRecipient()).append("> was delivered to the mailboxes\r\n"
                        + "that address leads to here.\r\n");
                default -> sb.append("Your message was delivered to <").append(r.finalRecipient()).append(">.\r\n");
            }
            r.remoteMta().ifPresent(mta -> sb.append("  Remote host: ").append(mta).append("\r\n"));
            r.diagnostic().ifPresent(d -> sb.append(fold("  It said: " + oneLine(d.text()))));
            sb.append("  Status: ").append(r.status()).append("\r\n\r\n");
        }
        if (report.originalUnread()) {
            sb.append("The message's text could not be read from this system's queue, so it is not attached;\r\n"
                    + "the postmaster's log has the reason.\r\n\r\n");
        }
        sb.append("Queue id: ").append(report.queueId()).append("\r\n");
        return sb.toString();
    }

    /** RFC 3464 §2.2 per-message fields, then §2.3 per-recipient fields, each group after a blank line. */
    static String deliveryStatus(DsnReport report) {
        StringBuilder sb = new StringBuilder();
        // In RFC 3464 §2.2's order: the envelope id (§2.2.1: as xtext, as it came in the ENVID parameter) first, extension
        // fields last.
        report.envelopeId().ifPresent(id -> sb.append(fold("Original-Envelope-Id: " + xtext(id))));
        sb.append(fold("Reporting-MTA: dns; " + report.reportingMta()));
        sb.append(fold("Arrival-Date: " + RFC5322.format(report.arrival())));
        sb.append(fold("X-Mxd-Queue-ID: " + report.queueId()));
        for (DsnReport.Recipient r : report.recipients()) {
            sb.append("\r\n");
            r.originalRecipient().ifPresent(o -> sb.append(fold("Original-Recipient: " + originalRecipient(o, report.international()))));
            sb.append(fold("Final-Recipient: " + addressType(r.finalRecipient()) + "; " + r.finalRecipient()));
            sb.append(fold("Action: " + r.action().field()));
            sb.append(fold("Status: " + r.status()));
            r.remoteMta().ifPresent(mta -> sb.append(fold("Remote-MTA: dns; " + mta)));
            r.diagnostic().ifPresent(d -> sb.append(fold("Diagnostic-Code: " + d.type().field() + "; "
                    + (report.international() ? oneLine(d.text()) : asciiOnly(oneLine(d.text()))))));
            sb.append(fold("Last-Attempt-Date: " + RFC5322.format(r.lastAttempt())));
        }
        return sb.toString();
    }

    /**
     * RFC 3464 §2.3.1: "addr-type;address" with the address in xtext, as the ORCPT parameter
     * carried it (RFC 3461 §4.2). The type, an atom when mxd accepted it, is encoded the same way
     * so that nothing from an envelope on disk can end the field. An address with UTF-8 in it is
     * of RFC 6533 §3's utf-8 type, in its ASCII form unless the report is global for the original's
     * sake (SMTPUTF8): an ORCPT alone never makes a report global.
     */
    private static String originalRecipient(String orcpt, boolean international) {
        int semi = orcpt.indexOf(';');
        if (semi < 0) {
            return "unknown;" + Xtext.encode(orcpt);
        }
        String type = orcpt.substring(0, semi);
        String address = orcpt.substring(semi + 1);
        if ((type.equalsIgnoreCase("rfc822") || type.equalsIgnoreCase("utf-8")) && !ascii(address)) {
            // RFC 6533 §3: a UTF-8 address is of type utf-8; raw UTF-8 only in a report that is global anyway.
            return "utf-8;" + Xtext.encodeUtf8Address(address, international);
        }
        return Xtext.encode(type) + ";" + Xtext.encode(address);
    }

    /** RFC 3461 §4 xtext, keeping UTF-8 as it is (it only occurs in an SMTPUTF8 report, RFC 6533 §3). */
    static String xtext(String value) {
        return dev.mxd.smtp.Xtext.encode(value, true);
    }

    /** RFC 6533 §3: an address with UTF-8 in it is of type utf-8 (allowed in message/global-delivery-status only). */
    private static String addressType(String address) {
        return ascii(address) ? "rfc822" : "utf-8";
    }

    /**
     * One field or text line, folded at spaces before {@link #LINE} characters (RFC 5322 §2.2.3),
     * CRLF-ended. A CR, LF or other control character in it becomes a space: a value can never
     * end the field and start one of its own. A run without spaces longer than RFC 5322 §2.1.1's
     * 998 octets (a long Diagnostic-Code token) is broken there, the continuation starting with a
     * space; unfolding then reads one space inside the token, which beats a line servers may cut.
     */
    static String fold(String line) {
        StringBuilder sb = new StringBuilder();
        String rest = noControls(line);
        while (rest.length() > LINE) {
            int cut = rest.lastIndexOf(' ', LINE);
            if (cut <= 0 || rest.substring(0, cut).isBlank()) {
                // Past the first word, never inside a run of spaces: a line of white space only is obs-FWS (RFC 5322 §4)
                // and reads as the blank line that ends a recipient's group (RFC 3464 §2.1).
                int word = 1;
                while (word < rest.length() && rest.charAt(word) == ' ') {
                    word++;
                }
                cut = rest.indexOf(' ', Math.max(LINE, word));
            }
            int fits = Utf8Text.fitting(rest, MAX_LINE);
            if (cut < 0 || cut > fits) {
                if (fits == rest.length()) {
                    break; // longer than 78 characters, no space to fold at, but within 998 octets
                }
                sb.append(rest, 0, fits).append("\r\n");
                rest = " " + rest.substring(fits);
                continue;
            }
            sb.append(rest, 0, cut).append("\r\n");
            rest = rest.substring(cut); // the space starts the continuation line: unfolding gives the line back
        }
        return sb.append(rest).append("\r\n").toString();
    }

    /** The text with every control character but TAB (CR and LF above all) as a space: addresses and ids stay as they are. */
    private static String noControls(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append((c < 0x20 && c != '\t') || c == 0x7f ? ' ' : c);
        }
        return sb.toString();
    }

    /**
     * A server's words as one line: every control character but TAB (CR and LF above all, C1's NEL too), the Unicode line and
     * paragraph separators and the format characters (bidi overrides) as a space, so that no server's words can
     * start a field of their own or read otherwise than they are; after its indentation, each run of white space as
     * one space, and none at the end (a long run once folded into a line of spaces only, which ends a recipient's group).
     */
    static String oneLine(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean indent = true;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean blank = (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029'
                    || Character.getType(c) == Character.FORMAT;
            char out = blank ? ' ' : c;
            boolean space = out == ' ' || out == '\t';
            if (!space) {
                indent = false;
            } else if (!indent && sb.length() > 0 && (sb.charAt(sb.length() - 1) == ' ' || sb.charAt(sb.length() - 1) == '\t')) {
                continue; // a run of white space inside the text: one is kept
            }
            sb.append(out);
        }
        int end = sb.length();
        while (end > 0 && (sb.charAt(end - 1) == ' ' || sb.charAt(end - 1) == '\t')) {
            end--;
        }
        sb.setLength(end);
        return sb.toString();
    }

    /**
     * Each character that is not ASCII as '?', and "§" (in mxd's own texts) as "section": a report that is not
     * global stays ASCII whatever a server said.
     */
    private static String asciiOnly(String s) {
        return dev.mxd.smtp.SmtpReply.ascii(s);
    }

    private static boolean ascii(String s) {
        return s.chars().allMatch(c -> c < 0x80);
    }

    private static boolean ascii(byte[] b) {
        for (byte x : b) {
            if (x < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The header section of a message: everything before the first empty line. When {@code message} (a read cut
     * at the return limit) holds no empty line, up to its last line end: whole header lines only, never one cut
     * in the middle (or between its CR and LF, or inside a UTF-8 sequence).
     */
    static byte[] headersOf(byte[] message) {
        for (int i = 0; i + 1 < message.length; i++) {
            if (message[i] == '\n' && message[i + 1] == '\n') {
                return Arrays.copyOf(message, i + 1);
            }
            if (i + 3 < message.length && message[i] == '\r' && message[i + 1] == '\n'
                    && message[i + 2] == '\r' && message[i + 3] == '\n') {
                return Arrays.copyOf(message, i + 2);
            }
        }
        for (int i = message.length - 1; i >= 0; i--) {
            if (message[i] == '\n') {
                return Arrays.copyOf(message, i + 1);
            }
        }
        return message;
    }

    /** The notification being written: CRLF lines of UTF-8. */
    private static final class Out {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        void line(String s) {
            bytes.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            bytes.writeBytes(new byte[] {'\r', '\n'});
        }

        void text(String s) {
            bytes.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        }

        /** Octets that end with a line end, so the boundary after them starts a line. */
        void octets(byte[] b) {
            bytes.writeBytes(b);
            if (b.length > 0 && b[b.length - 1] != '\n') {
                line("");
            }
        }

        byte[] bytes() {
            return bytes.toByteArray();
        }
    }
}
