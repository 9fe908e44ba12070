package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MessageTaggerTest {

    static final List<FilterVerdict.Header> HEADERS = List.of(new FilterVerdict.Header("X-Spam-Status", "Yes, score=7.0 required=5.0"),
            new FilterVerdict.Header("X-Spam-Score", "7.0"));

    static String tag(String message, Optional<String> prefix) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MessageTagger.tag(new ByteArrayInputStream(message.getBytes(StandardCharsets.UTF_8)), out, HEADERS, prefix);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void headersOnTopSubjectPrefixedBodyUntouched() throws Exception {
        assertThat(tag("From: a@x.test\r\nSubject: hello\r\n\r\nSubject: not a header\r\n", Optional.of("[SPAM] ")))
                .isEqualTo("X-Spam-Status: Yes, score=7.0 required=5.0\r\nX-Spam-Score: 7.0\r\n"
                        + "From: a@x.test\r\nSubject: [SPAM] hello\r\n\r\nSubject: not a header\r\n");
    }

    /**
     * A Subject line the prefix would push past RFC 5322's 998 octets is folded after the prefix, so every line fits and
     * the field unfolds to the prefixed text; one that fits is not folded.
     */
    @Test
    void aSubjectThePrefixWouldMakeTooLongIsFolded() throws Exception {
        String value = "x".repeat(986); // "Subject: " and 986 octets: 995, legal; with "[SPAM] " 1,002
        String out = tag("Subject: " + value + "\r\n\r\nb\r\n", Optional.of("[SPAM] "));
        String header = out.substring(0, out.indexOf("\r\n\r\n") + 2);
        assertThat(header.split("\r\n")).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(998));
        assertThat(header).contains("Subject: [SPAM]\r\n " + value + "\r\n");
        assertThat(header.replace("\r\n ", " ")).contains("Subject: [SPAM] " + value + "\r\n");
        String fits = "x".repeat(900);
        assertThat(tag("Subject: " + fits + "\r\n\r\nb\r\n", Optional.of("[SPAM] "))).contains("Subject: [SPAM] " + fits + "\r\n");
    }

    @Test
    void forgedSpamHeadersAndTheirContinuationsAreDropped() throws Exception {
        assertThat(tag("X-Spam-Status: No,\r\n\tscore=-100\r\nx-spam-score: -100\r\nTo: b@example.test\r\n\r\nbody\r\n", Optional.empty()))
                .isEqualTo("X-Spam-Status: Yes, score=7.0 required=5.0\r\nX-Spam-Score: 7.0\r\nTo: b@example.test\r\n\r\nbody\r\n");
    }

    @Test
    void missingSubjectIsAddedAndFoldedSubjectKeepsItsFold() throws Exception {
        assertThat(tag("From: a@x.test\r\n\r\nbody\r\n", Optional.of("[SPAM] ")))
                .endsWith("From: a@x.test\r\nSubject: [SPAM]\r\n\r\nbody\r\n");
        assertThat(tag("Subject: long\r\n subject\r\n\r\nb\r\n", Optional.of("[SPAM] ")))
                .endsWith("Subject: [SPAM] long\r\n subject\r\n\r\nb\r\n");
    }

    @Test
    void notTaggedTwiceAndOverlongLinesCopiedWhole() throws Exception {
        assertThat(tag("Subject: [SPAM] hi\r\n\r\n", Optional.of("[SPAM] "))).contains("Subject: [SPAM] hi\r\n");
        String longHeader = "X-Long: " + "a".repeat(10_000) + "\r\n";
        assertThat(tag(longHeader + "\r\nbody", Optional.empty())).endsWith(longHeader + "\r\nbody");
    }

    /**
     * Every X-Spam-* and X-Mxd-* field a sender wrote goes, not only those mxd writes itself (a reader's
     * filter may trust X-Spam-Flag), and a field written with white space before its colon is still a
     * field: it was taken for the end of the header section, so the subject prefix went there and the
     * real Subject stayed behind, two Subject fields.
     */
    @Test
    void everyForeignSpamFieldGoesWhateverItsFormAndTheSubjectIsTaggedOnce() throws Exception {
        String out = tag("X-Spam-Flag: NO\r\nX-Spam-Level: \r\nX-Mxd-Scan: clean\r\nX-Spam-Status : No\r\n"
                + "X-Spam: No\r\nX-Spamd-Result: default: False [-5.00 / 15.00]\r\nX-Spamd-Bar: -----\r\nX-Rspamd-Action: no action\r\n"
                + "Subject: hi\r\nX-Other: kept\r\nX-Spammy-Name: kept too\r\n\r\nX-Spam-Flag: in the body\r\n", Optional.of("[SPAM] "));
        assertThat(out).isEqualTo("X-Spam-Status: Yes, score=7.0 required=5.0\r\nX-Spam-Score: 7.0\r\n"
                + "Subject: [SPAM] hi\r\nX-Other: kept\r\nX-Spammy-Name: kept too\r\n\r\nX-Spam-Flag: in the body\r\n");
    }

    /**
     * A line that is no RFC 5322 field (a name with a space or an 8-bit octet, no colon at all) does not end the header
     * section, as readers (Dovecot, SpamAssassin) do not end it there: the forged fields after it went through to the
     * reader's filter, and a Subject after it was left untagged beside a second, added one.
     */
    @Test
    void aLineThatIsNoFieldDoesNotEndTheHeaderSection() throws Exception {
        for (String odd : List.of("Foo Bar: x", "\u00dcber: x", ": x", "no colon here")) {
            String out = tag("From: a@x.test\r\n" + odd + "\r\nX-Spam-Status: No, score=-5.0 forged\r\n X-folded\r\nX-Spam-Flag: NO\r\n"
                    + "Subject: hi\r\n\r\nX-Spam-Flag: in the body\r\n", Optional.of("[SPAM] "));
            assertThat(out).as(odd).isEqualTo("X-Spam-Status: Yes, score=7.0 required=5.0\r\nX-Spam-Score: 7.0\r\n"
                    + "From: a@x.test\r\n" + odd + "\r\nSubject: [SPAM] hi\r\n\r\nX-Spam-Flag: in the body\r\n");
        }
    }

    /**
     * RFC 2047 §5: a prefix without a trailing space before an encoded-word gets one (readers showed
     * "[SPAM]=?UTF-8?B?...?=" raw); a non-ASCII prefix becomes an encoded-word itself, so the header
     * stays ASCII for a 7-bit message relayed without SMTPUTF8, and decodes to what was configured.
     */
    @Test
    void thePrefixKeepsEncodedWordsReadableAndTheHeaderAscii() throws Exception {
        String word = "=?UTF-8?B?" + java.util.Base64.getEncoder().encodeToString("h\u00e9".getBytes(StandardCharsets.UTF_8)) + "?=";
        String spaced = tag("Subject: " + word + "\r\n\r\nb\r\n", Optional.of("[SPAM]"));
        assertThat(spaced).contains("Subject: [SPAM] " + word + "\r\n");
        assertThat(jakarta.mail.internet.MimeUtility.decodeText(subject(spaced))).isEqualTo("[SPAM] h\u00e9");

        String utf8 = tag("Subject: " + word + "\r\n\r\nb\r\n", Optional.of("[\u0421\u041f\u0410\u041c] "));
        assertThat(utf8.chars().allMatch(c -> c < 0x80)).as(utf8).isTrue();
        assertThat(jakarta.mail.internet.MimeUtility.decodeText(subject(utf8))).isEqualTo("[\u0421\u041f\u0410\u041c] h\u00e9");
        assertThat(tag(utf8, Optional.of("[\u0421\u041f\u0410\u041c] "))).as("not tagged twice").contains("Subject: " + subject(utf8) + "\r\n");
        String plain = tag("Subject: hello\r\n\r\nb\r\n", Optional.of("[\u0421\u041f\u0410\u041c] "));
        assertThat(jakarta.mail.internet.MimeUtility.decodeText(subject(plain))).isEqualTo("[\u0421\u041f\u0410\u041c] hello");
        assertThat(tag(plain, Optional.of("[\u0421\u041f\u0410\u041c] "))).as("not tagged twice").contains("Subject: " + subject(plain) + "\r\n");
        String longPrefix = "[" + "\u0421\u041f\u0410\u041c".repeat(10) + "] ";
        String split = tag("Subject: hello\r\n\r\nb\r\n", Optional.of(longPrefix));
        assertThat(subject(split).split(" ")).as("RFC 2047 §2: no encoded-word over 75 characters")
                .allSatisfy(w -> assertThat(w.length()).isLessThanOrEqualTo(75));
        assertThat(jakarta.mail.internet.MimeUtility.decodeText(subject(split))).isEqualTo(longPrefix + "hello");
    }

    private static String subject(String message) {
        int at = message.indexOf("Subject: ") + "Subject: ".length();
        return message.substring(at, message.indexOf("\r\n", at));
    }
}
