package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.SmtpReply;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** An agent's typed result becomes the recipient's next status; destinations are typed but print as before. */
class DeliveryResultTest {

    private static final Instant NOW = Instant.parse("2026-12-03T08:00:00Z");

    private static RecipientStatus pending(Route route) {
        return new RecipientStatus(new Recipient(Mailbox.parse("bob@dest.test"), RcptParameters.NONE, route),
                DeliveryState.PENDING, "", Instant.EPOCH);
    }

    @Test
    void aServersRefusalIsAFailureThatKeepsItsReply() {
        SmtpReply refusal = SmtpReply.of(550, List.of("5.1.1 no such user"));
        RecipientStatus r = pending(new Route.Relay("dest.test")).after(new DeliveryResult.Failed(EnhancedStatus.BAD_MAILBOX,
                "mx[192.0.2.7]:25 refused RCPT TO:<bob@dest.test>: 550 5.1.1 no such user", Optional.of("mx[192.0.2.7]:25"),
                Optional.of(refusal)), NOW);
        assertThat(r.state()).isEqualTo(DeliveryState.FAILED);
        assertThat(r.status()).contains(EnhancedStatus.BAD_MAILBOX);
        assertThat(r.remoteMta()).contains("mx[192.0.2.7]:25");
        assertThat(r.reply()).contains(refusal);
        assertThat(r.updated()).isEqualTo(NOW);
    }

    @Test
    void aDeferralMayNarrowTheRouteTheRetryTakes() {
        RecipientStatus before = pending(new Route.Local("dest.test", List.of("bob", "carol")));
        RecipientStatus r = before.after(new DeliveryResult.Deferred(EnhancedStatus.LOCAL_ERROR, "maildir delivery failed: carol: full",
                Optional.empty(), Optional.empty(), false, Optional.of(new Route.Local("dest.test", List.of("carol")))), NOW);
        assertThat(r.state()).isEqualTo(DeliveryState.DEFERRED);
        assertThat(r.recipient().route()).isEqualTo(new Route.Local("dest.test", List.of("carol")));
        assertThat(r.recipient().address()).isEqualTo(before.recipient().address());
        assertThat(before.after(DeliveryResult.Deferred.of(EnhancedStatus.NO_ANSWER, "no MX answered"), NOW).recipient())
                .isEqualTo(before.recipient());
    }

    @Test
    void aDeliveryIsDone() {
        RecipientStatus r = pending(new Route.Local("dest.test", List.of("bob"))).after(
                new DeliveryResult.Delivered(EnhancedStatus.OK, "delivered to maildir", Optional.empty(), Optional.empty()), NOW);
        assertThat(r.state()).isEqualTo(DeliveryState.DELIVERED);
        assertThat(r.state().done()).isTrue();
        assertThat(r.reply()).isEmpty();
    }

    @Test
    void destinationsPrintAsTheOldKeys() {
        Destination local = Destination.of(new Route.Local("dest.test", List.of("bob")));
        Destination remote = Destination.of(new Route.Relay("dest.test"));
        assertThat(local).isEqualTo(Destination.LOCAL).hasToString("local");
        assertThat(local.transport()).isEqualTo("local");
        assertThat(local.remote()).isFalse();
        assertThat(remote).isEqualTo(new Destination.Domain("dest.test")).hasToString("dest.test");
        assertThat(remote.transport()).isEqualTo("smtp");
        assertThat(remote.remote()).isTrue();
        assertThat(new Destination.Domain("local")).as("a domain named local is not the local mailboxes").isNotEqualTo(Destination.LOCAL);
    }
}
