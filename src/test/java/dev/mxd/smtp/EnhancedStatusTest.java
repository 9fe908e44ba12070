package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class EnhancedStatusTest {

    @Test
    void aReplyWithoutAStatusGetsItsClasssOtherCode() {
        assertThat(EnhancedStatus.otherOfClass(250)).hasToString("2.0.0");
        assertThat(EnhancedStatus.otherOfClass(451)).hasToString("4.0.0");
        assertThat(EnhancedStatus.otherOfClass(554)).hasToString("5.0.0");
        assertThatThrownBy(() -> EnhancedStatus.otherOfClass(354)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aStatusCountsOnlyWhenItsClassMatchesTheReplyCode() {
        assertThat(EnhancedStatus.atStartOf("5.1.1 no such user", 550)).contains(new EnhancedStatus(5, 1, 1));
        assertThat(EnhancedStatus.atStartOf("4.1.1 odd", 550)).isEmpty();
        assertThat(EnhancedStatus.atStartOf("5.1.1x", 550)).isEqualTo(Optional.empty());
    }

    @Test
    void aReplyToSendRefusesLineBreaksInItsText() {
        assertThatThrownBy(() -> SmtpReply.of(550, EnhancedStatus.NOT_AUTHORIZED, "virus\r\n250 ok"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(new String(SmtpReply.of(550, EnhancedStatus.NOT_AUTHORIZED, "refused").encode(),
                java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("550 5.7.1 refused\r\n");
    }

    /** The grammar as a regular expression (RFC 3463 §2 with RFC 5321's reply text after it): the hand-written reader must agree. */
    private static final Pattern GRAMMAR = Pattern.compile("([245])\\.(\\d{1,3})\\.(\\d{1,3})(?=\\s|$)");

    @Test
    void theReaderAgreesWithTheGrammarOnEveryText() {
        SplittableRandom random = new SplittableRandom(2034);
        String alphabet = "0123456789..245 \t\r\nx\u000b\f\u0663\u0085\u2028\u2029";
        java.util.List<String> texts = new java.util.ArrayList<>(java.util.List.of("", "2", "2.", "2.0", "2.0.", "2.0.0", "2.0.0 ok",
                "2.0.00", "2.000.000", "2.0000.0", "2.0.0000", "5.999.999\r", "4.1.1\u000b", "3.0.0", "2.0.0x", " 2.0.0",
                "2.\u0663.0", "5.1.1\tuser", "2.0.0\u2028", "2.0.0\u2029x", "4.4.1\u0085", "2.0.0\r\n"));
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            if (i % 2 == 0) {
                b.append("245".charAt(random.nextInt(3))).append('.').append(random.nextInt(1200)).append('.').append(random.nextInt(1200));
            }
            for (int k = random.nextInt(5); k > 0; k--) {
                b.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            texts.add(b.toString());
        }
        for (String t : texts) {
            Matcher prefix = GRAMMAR.matcher(t);
            Optional<EnhancedStatus> expected = prefix.lookingAt()
                    ? Optional.of(new EnhancedStatus(prefix.group(1).charAt(0) - '0', Integer.parseInt(prefix.group(2)), Integer.parseInt(prefix.group(3))))
                    : Optional.empty();
            int code = expected.map(e -> e.statusClass() * 100 + 50).orElse(250);
            assertThat(EnhancedStatus.atStartOf(t, code)).as("at the start of '%s'", t).isEqualTo(expected);
            Matcher whole = GRAMMAR.matcher(t);
            assertThat(EnhancedStatus.parse(t)).as("all of '%s'", t).isEqualTo(whole.matches() ? expected : Optional.empty());
        }
    }

    @Test
    void aMultiLineReplyCarriesItsStatusOnEveryLine() {
        SmtpReply r = SmtpReply.of(250, EnhancedStatus.OK, java.util.List.of("one", "two"));
        assertThat(new String(r.encode(), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("250-2.0.0 one\r\n250 2.0.0 two\r\n");
    }
}
