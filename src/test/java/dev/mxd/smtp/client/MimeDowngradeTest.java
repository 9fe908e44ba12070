package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.BodyPart;
import jakarta.mail.MessagingException;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link MimeDowngrade}: what a server without 8BITMIME gets of an 8-bit message. The converted
 * text is read back with Jakarta Mail, an independent MIME parser: each part must decode to the
 * octets it had, every body line must be 7-bit and at most 76 characters, and the declared size
 * must be what is streamed.
 */
class MimeDowngradeTest {

    private static final Session SESSION = Session.getInstance(new Properties());

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] converted(byte[] message) throws IOException {
        Optional<MessageContent> seven = MimeDowngrade.of(MessageContent.of(message));
        assertThat(seven).as("a conversion").isPresent();
        byte[] out;
        try (InputStream in = seven.get().open()) {
            out = in.readAllBytes();
        }
        assertThat(seven.get().size()).as("declared size").isEqualTo(out.length);
        return out;
    }

    private static MimeMessage parse(byte[] text) throws MessagingException {
        return new MimeMessage(SESSION, new ByteArrayInputStream(text));
    }

    private static byte[] decoded(Part p) throws IOException, MessagingException {
        try (InputStream in = p.getInputStream()) {
            return in.readAllBytes();
        }
    }

    /** The body (after the first empty line) has no 8-bit octet and no line over 76 characters. */
    private static void assertSevenBitBody(byte[] text) {
        String s = new String(text, StandardCharsets.ISO_8859_1);
        String body = s.substring(s.indexOf("\r\n\r\n") + 4);
        for (String line : body.split("\r\n", -1)) {
            assertThat(line.chars().allMatch(c -> c < 0x80)).as("7-bit line: %s", line).isTrue();
        }
    }

    private static List<String> qpLines(byte[] text, String marker) {
        String s = new String(text, StandardCharsets.ISO_8859_1);
        List<String> lines = new ArrayList<>();
        boolean in = false;
        for (String line : s.split("\r\n", -1)) {
            if (line.contains(marker)) {
                in = true;
            }
            if (in) {
                lines.add(line);
            }
        }
        return lines;
    }

    @Test
    void aMessageWithoutMimeFieldsIsLabelledAndEncoded() throws Exception {
        String body = "Gr\u00fc\u00dfe aus K\u00f6ln = 100 %\r\nline with trailing space \r\nand tab\t\r\n"
                + "x".repeat(200) + "\u00e9\r\n-- \r\nsignature\r\n";
        byte[] message = bytes("From: a@client.test\r\nSubject: plain\r\n\r\n" + body);
        byte[] out = converted(message);
        String text = new String(out, StandardCharsets.US_ASCII);
        assertThat(text).startsWith("From: a@client.test\r\nSubject: plain\r\nMIME-Version: 1.0\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        assertSevenBitBody(out);
        for (String line : qpLines(out, "Gr=C3")) {
            assertThat(line.length()).as(line).isLessThanOrEqualTo(76);
            assertThat(line).doesNotEndWith(" ").doesNotEndWith("\t");
        }
        assertThat(text).contains("line with trailing space=20\r\n").contains("and tab=09\r\n").contains("= 100 %".replace("=", "=3D"));
        assertThat(decoded(parse(out))).isEqualTo(bytes(body));
    }

    @Test
    void everyPartOfANestedMultipartDecodesToWhatItWas() throws Exception {
        byte[] latin1 = {'c', 'a', 'f', (byte) 0xe9, ' ', (byte) 0xff, '\r', '\n'};
        String base64 = "SGVsbG8gd29ybGQ=\r\n";
        String before = "From: a@client.test\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: multipart/mixed; boundary=\"outer;b\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "preamble\r\n"
                + "--outer;b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "\u00fcber\r\n--outer is not this line\r\n"
                + "--outer;b\r\nContent-Type: multipart/alternative;\r\n boundary=outer\r\n\r\n"
                + "--outer\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n";
        String after = "--outer\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>seven</p>\r\n"
                + "--outer--\r\n"
                + "--outer;b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64
                + "--outer;b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "inne\u00e9\r\n"
                + "--outer;b--\r\nepilogue\r\n";
        byte[] in = concat(bytes(before), latin1, bytes(after)); // the Latin-1 part as its own octets, the rest UTF-8

        byte[] out = converted(in);
        assertSevenBitBody(out);
        String text = new String(out, StandardCharsets.US_ASCII);
        assertThat(text).contains("Content-Type: multipart/mixed; boundary=\"outer;b\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
        assertThat(text).contains("--outer;b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64);
        assertThat(text).contains("Content-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>seven</p>\r\n");
        assertThat(text).contains("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
        assertThat(text).endsWith("--outer;b--\r\nepilogue\r\n");

        MimeMultipart mixed = (MimeMultipart) parse(out).getContent();
        assertThat(mixed.getCount()).isEqualTo(4);
        assertThat(decoded(mixed.getBodyPart(0))).isEqualTo(bytes("\u00fcber\r\n--outer is not this line"));
        MimeMultipart alternative = (MimeMultipart) mixed.getBodyPart(1).getContent();
        BodyPart mislabelled = alternative.getBodyPart(0);
        assertThat(mislabelled.getHeader("Content-Transfer-Encoding")).containsExactly("quoted-printable");
        assertThat(decoded(mislabelled)).isEqualTo(new byte[] {'c', 'a', 'f', (byte) 0xe9, ' ', (byte) 0xff});
        assertThat(decoded(alternative.getBodyPart(1))).isEqualTo(bytes("<p>seven</p>"));
        assertThat(decoded(mixed.getBodyPart(2))).isEqualTo(bytes("Hello world"));
        MimeMessage inner = (MimeMessage) mixed.getBodyPart(3).getContent();
        assertThat(inner.getSubject()).isEqualTo("inner");
        assertThat(inner.getHeader("Content-Transfer-Encoding")).containsExactly("quoted-printable");
        assertThat(decoded(inner)).isEqualTo(bytes("inne\u00e9"));
    }

    /**
     * Texts with nothing to convert are sent as they are: 7-bit text sent with BODY=8BITMIME, 8-bit
     * octets only in a header field (no encoding keeps their meaning), and a multipart without a
     * boundary (never encoded, RFC 2045 §6.4; passed, 8-bit and all).
     */
    @Test
    void textsWithNothingToConvertAreNotTouched() throws IOException {
        List<byte[]> texts = List.of(
                bytes("Subject: seven\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nplain ASCII = fine\r\n"),
                "Subject: caf\u00e9\r\n\r\nplain body\r\n".getBytes(StandardCharsets.ISO_8859_1),
                bytes("MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\u00e9\r\n"));
        for (byte[] text : texts) {
            assertThat(MimeDowngrade.of(MessageContent.of(text))).as(new String(text, StandardCharsets.ISO_8859_1)).isEmpty();
        }
    }

    @Test
    void aPartLabelled8bitWithOnlyAsciiIsStillRelabelled() throws Exception {
        byte[] message = bytes("MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8BIT\r\nContent-Type: text/plain\r\n\r\nascii = only\r\n");
        String text = new String(converted(message), StandardCharsets.US_ASCII);
        assertThat(text).isEqualTo("MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + "ascii =3D only\r\n");
    }

    @Test
    void aFoldedTransferEncodingFieldIsReplacedWhole() throws Exception {
        byte[] message = bytes("MIME-Version: 1.0\r\nContent-Transfer-Encoding:\r\n 8bit\r\nSubject: s\r\n\r\n\u00e9\r\n");
        String text = new String(converted(message), StandardCharsets.US_ASCII);
        assertThat(text).isEqualTo("MIME-Version: 1.0\r\nSubject: s\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n");
    }

    /** Bare LF line ends (a spool may keep them), a lone CR, a line far longer than a read block, no final line end. */
    @Test
    void lineEndsLoneCrAndLongLinesSurvive() throws Exception {
        byte[] head = bytes("Subject: odd\n\n");
        byte[] body = concat(bytes("lf only \u00e9\nlone\rcr\n"), bytes("\u00e9".repeat(20_000) + "-dash\n"), bytes("no end \u00e9 "));
        byte[] out = converted(concat(head, body));
        assertSevenBitBody(out);
        String text = new String(out, StandardCharsets.US_ASCII);
        assertThat(text).contains("lone=0Dcr\r\n");
        assertThat(text).endsWith("no end =C3=A9=20");
        for (String line : qpLines(out, "lf only")) {
            assertThat(line.length()).as(line).isLessThanOrEqualTo(76);
            assertThat(line).doesNotStartWith("-");
        }
        byte[] expected = new String(body, StandardCharsets.ISO_8859_1).replace("\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        assertThat(decoded(parse(out))).isEqualTo(expected);
    }

    /** A part cut short by the next boundary (no empty line) and a boundary never closed end cleanly. */
    @Test
    void brokenStructureStillEndsIn7Bit() throws Exception {
        byte[] message = bytes("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                + "--b\r\nContent-Type: text/plain\r\n--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\u00e9t\u00e9\r\n");
        byte[] out = converted(message);
        assertSevenBitBody(out);
        assertThat(new String(out, StandardCharsets.US_ASCII)).endsWith("--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + "=C3=A9t=C3=A9\r\n");
    }

    /**
     * Found by MimeDowngradeFuzzer: a header section that ends in a line that is no field (the empty
     * line missing) gets its empty line, so that the field written for the message inside stays in
     * that message's header; converting the result again finds nothing to do.
     */
    @Test
    void aHeaderEndedByALineThatIsNoFieldGetsItsEmptyLine() throws Exception {
        byte[] message = concat(bytes("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n"),
                new byte[] {(byte) 0xd4, (byte) 0xff}, bytes(" text\r\n"));
        byte[] out = converted(message);
        assertThat(new String(out, StandardCharsets.US_ASCII)).isEqualTo("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit"
                + "\r\n\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=D4=FF text\r\n");
        assertThat(MimeDowngrade.of(MessageContent.of(out))).isEmpty();
    }

    /**
     * Nesting is followed to the limit and no further: a leaf at the limit is converted, one past it
     * is passed as it is (inside a multipart that is not followed), and the conversion ends.
     */
    @Test
    void deepNestingIsFollowedToTheLimit() throws Exception {
        for (int levels : new int[] {MimeDowngrade.MAX_DEPTH, MimeDowngrade.MAX_DEPTH + 1}) {
            StringBuilder b = new StringBuilder("MIME-Version: 1.0\r\n");
            for (int i = 0; i < levels; i++) {
                b.append("Content-Type: multipart/mixed; boundary=l").append(i).append("_\r\n\r\n--l").append(i).append("_\r\n");
            }
            b.append("Content-Type: text/plain\r\n\r\n\u00e9\r\n");
            for (int i = levels - 1; i >= 0; i--) {
                b.append("--l").append(i).append("_--\r\n");
            }
            Optional<MessageContent> seven = MimeDowngrade.of(MessageContent.of(bytes(b.toString())));
            if (levels == MimeDowngrade.MAX_DEPTH) {
                assertSevenBitBody(seven.orElseThrow().open().readAllBytes());
            } else {
                assertThat(seven).as("nothing followed deep enough to convert").isEmpty();
            }
        }
    }

    /** RFC 2046 §5.1.1: a line that begins with the boundary is a boundary line, whatever follows; Postfix reads it so too. */
    @Test
    void aBoundaryLineIsFoundByItsBeginning() throws Exception {
        String tail = " ".repeat(9000);          // longer than a read piece
        byte[] message = bytes("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                + "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\u00e9\r\n"
                + "--b junk\r\nContent-Type: text/html\r\n\r\n<p>2</p>\r\n"
                + "--b" + tail + "\r\nContent-Type: text/plain\r\n\r\nthree\r\n--b--\r\n");
        String text = new String(converted(message), StandardCharsets.US_ASCII);
        assertThat(text).contains("=C3=A9\r\n--b junk\r\nContent-Type: text/html\r\n\r\n<p>2</p>\r\n--b" + tail + "\r\n");
        assertThat(text).endsWith("three\r\n--b--\r\n");
    }

    /** A boundary longer than RFC 2046's 70 characters is followed, as Postfix follows it (up to 2048). */
    @Test
    void aLongBoundaryIsFollowed() throws Exception {
        String b = "x".repeat(300);
        byte[] message = bytes("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=" + b + "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n--"
                + b + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\u00e9\r\n--" + b + "--\r\n");
        String text = new String(converted(message), StandardCharsets.US_ASCII);
        assertThat(text).isEqualTo("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=" + b + "\r\nContent-Transfer-Encoding: 7bit"
                + "\r\n\r\n--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + "=C3=A9\r\n--" + b + "--\r\n");
    }

    /** Comments and quotes around the label and the type do not hide them (RFC 2045 §5.1, §6.1). */
    @Test
    void commentsAroundTheLabelAndTheTypeAreRead() throws Exception {
        byte[] message = bytes("MIME-Version: 1.0\r\nContent-Type: message/rfc822 (forwarded)\r\nContent-Transfer-Encoding: (c) \"8bit\"\r\n\r\n"
                + "Subject: inner\r\nContent-Transfer-Encoding: 8BIT (really)\r\n\r\n\u00e9\r\n");
        String text = new String(converted(message), StandardCharsets.US_ASCII);
        assertThat(text).isEqualTo("MIME-Version: 1.0\r\nContent-Type: message/rfc822 (forwarded)\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                + "Subject: inner\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n");
    }

    /** A header field whose name is longer than a read piece does not end the header section. */
    @Test
    void aVeryLongFieldNameKeepsTheHeaderWhole() throws Exception {
        String name = "X-" + "n".repeat(9000);
        byte[] message = bytes("MIME-Version: 1.0\r\n" + name + ": y\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\u00e9\r\n");
        String text = new String(converted(message), StandardCharsets.US_ASCII);
        assertThat(text).isEqualTo("MIME-Version: 1.0\r\n" + name + ": y\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n");
    }

    /**
     * A part that is not text has no line breaks (RFC 2045 §6.7 rule 4): its CR and LF octets are
     * data, written =0D=0A, and only the CRLF before the boundary is a line break.
     */
    @Test
    void aBinaryPartKeepsItsCrLfAsData() throws Exception {
        byte[] data = {1, (byte) 0xff, '\r', '\n', 'a', ' ', '\n', '\r', '\n'};
        byte[] message = concat(bytes("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"), data,
                bytes("\r\n--b--\r\n"));
        byte[] out = converted(message);
        assertThat(new String(out, StandardCharsets.US_ASCII)).contains("\r\n\r\n=01=FF=0D=0Aa =0A=0D=0A\r\n--b--\r\n");
        MimeMultipart mp = (MimeMultipart) parse(out).getContent();
        assertThat(decoded(mp.getBodyPart(0))).isEqualTo(data);
    }

    /** Parts nested past the limit are not followed, and a multipart or message there is passed, never encoded. */
    @Test
    void aStructureTooDeepToFollowIsPassedNotEncoded() throws Exception {
        String deep = "Content-Type: message/rfc822\r\n\r\n".repeat(MimeDowngrade.MAX_DEPTH)
                + "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n--b\r\n\r\n\u00e9\r\n--b--\r\n";
        assertThat(MimeDowngrade.of(MessageContent.of(bytes(deep)))).isEmpty();
    }

    /** One pass over a Content-Type value: a quarter megabyte of ';' is read at once, not in quadratic time. */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aHugeParameterListIsReadInOnePass() throws IOException {
        String header = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed" + ("\r\n " + ";".repeat(8000)).repeat(30) + "\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\n\u00e9\r\n";
        for (int i = 0; i < 3; i++) {
            assertThat(MimeDowngrade.of(MessageContent.of(bytes(header)))).isEmpty(); // a multipart without boundary: passed
        }
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed" + ";".repeat(200_000) + "; boundary=x")).contains("x");
    }

    /**
     * Random multiparts of random 8-bit text, a seeded generator: every leaf decodes to its own
     * octets after the conversion, whatever its line ends, white space and '=' signs.
     */
    @Test
    void randomMessagesRoundTrip() throws Exception {
        Random random = new Random(6152);
        for (int n = 0; n < 200; n++) {
            List<byte[]> leaves = new ArrayList<>();
            ByteArrayOutputStream m = new ByteArrayOutputStream();
            m.write(bytes("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_top " + n + "\"\r\n\r\n"));
            int parts = 1 + random.nextInt(4);
            for (int p = 0; p < parts; p++) {
                m.write(bytes("--=_top " + n + "\r\nContent-Type: text/plain\r\n"
                        + (random.nextBoolean() ? "Content-Transfer-Encoding: 8bit\r\n" : "") + "\r\n"));
                byte[] leaf = randomText(random);
                leaves.add(leaf);
                m.write(leaf);
                m.write(bytes("\r\n"));
            }
            m.write(bytes("--=_top " + n + "--\r\n"));
            byte[] in = m.toByteArray();
            Optional<MessageContent> seven = MimeDowngrade.of(MessageContent.of(in));
            byte[] out = seven.isPresent() ? seven.get().open().readAllBytes() : in;
            assertSevenBitBody(out);
            MimeMultipart mp = (MimeMultipart) parse(out).getContent();
            assertThat(mp.getCount()).isEqualTo(parts);
            for (int p = 0; p < parts; p++) {
                assertThat(decoded(mp.getBodyPart(p))).as("message %d part %d", n, p).isEqualTo(leaves.get(p));
            }
        }
    }

    /** Octets of every kind, lines ended by CRLF, never ending in a line end (the boundary's CRLF follows). */
    private static byte[] randomText(Random random) {
        int length = 1 + random.nextInt(400);
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            int kind = random.nextInt(10);
            b[i] = (byte) switch (kind) {
                case 0 -> 0x80 + random.nextInt(0x80);
                case 1 -> ' ';
                case 2 -> '\t';
                case 3 -> '=';
                case 4 -> '-';
                default -> 'a' + random.nextInt(26);
            };
            if (kind == 5 && i + 2 < length && random.nextInt(8) == 0) {
                b[++i] = '\r';
                b[++i] = '\n';
            }
        }
        if (b[length - 1] == '\n') {
            b[length - 1] = 'z';
        }
        if (length > 1 && b[length - 2] == '\r' && b[length - 1] == 'z') {
            b[length - 2] = 'y';
        }
        return b;
    }

    @Test
    void boundaryParameters() {
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed; boundary=abc")).contains("abc");
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed; charset=\"x;boundary=no\"; Boundary=\"a \\\"b\\\" c\"")).contains("a \"b\" c");
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed; boundary=abc (comment)")).contains("abc");
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed")).isEmpty();
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed; boundary=\"\"")).isEmpty();
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed; boundary=" + "x".repeat(2048))).contains("x".repeat(2048));
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed; boundary=" + "x".repeat(2049))).isEmpty();
        assertThat(MimeDowngrade.boundaryOf(" multipart/mixed; a; b=\"q;boundary=no\"; ;boundary=\"yes\"")).contains("yes");
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }
}
