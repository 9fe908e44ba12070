package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogTextTest {

    @Test
    void controlAndInvisibleCharactersAreEscaped() {
        assertThat(LogText.safe("ev\0il\u001b[2J\u0007.test")).isEqualTo("ev\\x00il\\x1B[2J\\x07.test");
        assertThat(LogText.safe("a\r\nFAKE: line")).isEqualTo("a\\x0D\\x0AFAKE: line");
        assertThat(LogText.safe("\u007f\u0085\u2028\u202eeve\ufeff")).isEqualTo("\\x7F\\x85\\x{2028}\\x{202E}eve\\x{FEFF}");
        assertThat(LogText.safe("\ud800x")).as("a lone surrogate").isEqualTo("\\x{D800}x");
    }

    @Test
    void printableTextOfAnyScriptIsKept() {
        String s = "bücher.example <jöran@例え.jp> 250 2.0.0 OK \\x41";
        assertThat(LogText.safe(s)).isSameAs(s);
        assertThat(LogText.safe((Object) null)).isEqualTo("null");
    }

    @Test
    void longTextIsCutAndTheRestCounted() {
        String s = "x".repeat(LogText.MAX_LENGTH + 100);
        assertThat(LogText.safe(s)).isEqualTo("x".repeat(LogText.MAX_LENGTH) + "…(100 more characters)");
    }
}
