package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class EhloExtensionsTest {

    @Test
    void keywordsAndParametersAreReadFromEveryLineAfterTheFirst() {
        SmtpReply ehlo = SmtpReply.of(250, List.of("mx1.example.test Hello [192.0.2.1]", "PIPELINING", "SIZE 10240000",
                "starttls", "AUTH PLAIN LOGIN", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"));
        EhloExtensions x = EhloExtensions.of(ehlo);
        assertThat(x.domain()).isEqualTo("mx1.example.test");
        assertThat(x.keywords().keySet()).containsExactly("PIPELINING", "SIZE", "STARTTLS", "AUTH", "8BITMIME",
                "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN");
        assertThat(x.starttls()).isTrue();
        assertThat(x.parameters("auth")).containsExactly("PLAIN", "LOGIN");
        assertThat(x.maxSize()).hasValue(10_240_000L);
        assertThat(x.summary()).startsWith("PIPELINING, SIZE 10240000, STARTTLS, AUTH PLAIN LOGIN");
    }

    @Test
    void linesThatAreNotKeywordsAreIgnored() {
        SmtpReply ehlo = SmtpReply.of(250, List.of("mx.example.test", "AUTH=LOGIN PLAIN", "", "-BAD", "XCLIENT NAME"));
        EhloExtensions x = EhloExtensions.of(ehlo);
        assertThat(x.keywords().keySet()).containsExactly("XCLIENT");
        assertThat(x.starttls()).isFalse();
    }

    @Test
    void sizeWithoutLimitMeansNoFixedLimit() {
        assertThat(EhloExtensions.of(SmtpReply.of(250, List.of("mx", "SIZE"))).maxSize()).isEmpty();
        assertThat(EhloExtensions.of(SmtpReply.of(250, List.of("mx", "SIZE 0"))).maxSize()).isEmpty();
        assertThat(EhloExtensions.of(SmtpReply.of(250, List.of("mx"))).maxSize()).isEmpty();
    }

    @Test
    void firstWordIsTheServersName() {
        assertThat(EhloExtensions.firstWord("mx1.example.test ESMTP Postfix")).isEqualTo("mx1.example.test");
        assertThat(EhloExtensions.firstWord("  lonely ")).isEqualTo("lonely");
    }
}
