package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
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
}
