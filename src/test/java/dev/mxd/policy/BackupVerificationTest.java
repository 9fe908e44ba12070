package dev.mxd.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.RecipientVerify;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientVerifier;
import dev.mxd.mail.Route;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.SmtpReply;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Recipient verification of backup domains (issue 15 point 6) on configurations alone: the static
 * list answers 550 5.1.1, and a callout's verdict becomes the RCPT reply (250, 550 5.1.1 quoting the
 * primary, 450 4.1.1).
 */
class BackupVerificationTest {

    private static final ClientInfo STRANGER = new ClientInfo(new InetSocketAddress("192.0.2.9", 4000), "x.test", true, false);

    private static DomainPolicy policy(String yaml, RecipientVerifier verifier) throws Exception {
        return new DomainPolicy(ConfigLoader.parse("trusted-networks: []\n" + yaml, Path.of("mxd.yaml")), verifier);
    }

    private static RcptDecision forClient(DomainPolicy p, String address) {
        return p.decideForClient(Mailbox.parse(address), STRANGER).toCompletableFuture().join();
    }

    @Test
    void theStaticListRefusesOtherRecipientsWith550At5_1_1() throws Exception {
        DomainPolicy p = policy("domains:\n  relay.test:\n    role: backup\n    mailboxes: [carol]\n", RecipientVerifier.UNAVAILABLE);
        assertThat(p.decide(Mailbox.parse("carol@relay.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Relay("relay.test")));
        RcptDecision d = forClient(p, "dave@relay.test");
        assertThat(d).isInstanceOf(RcptDecision.Refuse.class);
        SmtpReply r = ((RcptDecision.Refuse) d).reply();
        assertThat(r.code()).isEqualTo(550);
        assertThat(r.enhancedStatus()).contains(EnhancedStatus.BAD_MAILBOX);
    }

    @Test
    void listIsImpliedByMailboxesAndNoneByTheirAbsence() throws Exception {
        var c = ConfigLoader.parse("domains:\n  a.test:\n    role: backup\n    mailboxes: [carol]\n  b.test:\n    role: backup\n",
                Path.of("mxd.yaml"));
        assertThat(c.domain("a.test").orElseThrow().verify().mode()).isEqualTo(RecipientVerify.Mode.LIST);
        assertThat(c.domain("b.test").orElseThrow().verify().mode()).isEqualTo(RecipientVerify.Mode.NONE);
    }

    @Test
    void aCalloutAsksTheVerifierWithTheDomainsCacheTimes() throws Exception {
        List<String> asked = new ArrayList<>();
        RecipientVerifier verifier = (recipient, domain, positive, negative) -> {
            asked.add(recipient + " " + domain + " " + positive + " " + negative);
            return CompletableFuture.completedFuture(switch (recipient.localKey()) {
                case "alice" -> new RecipientVerifier.Verdict.Exists();
                case "ghost" -> new RecipientVerifier.Verdict.Refused(
                        SmtpReply.of(550, EnhancedStatus.BAD_MAILBOX, "<ghost@relay.test>: Recipient address rejected: User unknown"));
                case "looped" -> new RecipientVerifier.Verdict.Undeliverable("mail for relay.test loops back to myself",
                        EnhancedStatus.ROUTING_LOOP);
                default -> new RecipientVerifier.Verdict.Unknown("no better MX answered");
            });
        };
        DomainPolicy p = policy("domains:\n  relay.test:\n    role: backup\n    verify: callout\n"
                + "    verify-positive-expire: 2d\n    verify-negative-expire: 1h\n", verifier);
        assertThat(forClient(p, "alice@relay.test")).isEqualTo(new RcptDecision.Accept(new Route.Relay("relay.test")));
        SmtpReply refused = ((RcptDecision.Refuse) forClient(p, "ghost@relay.test")).reply();
        assertThat(refused.summary()).isEqualTo("550 5.1.1 <ghost@relay.test>: recipient address rejected: undeliverable address: "
                + "the primary MX said: 550 5.1.1 <ghost@relay.test>: Recipient address rejected: User unknown");
        SmtpReply unsure = ((RcptDecision.Refuse) forClient(p, "bob@relay.test")).reply();
        assertThat(unsure.summary()).isEqualTo("450 4.1.1 <bob@relay.test>: recipient address rejected: cannot verify now: "
                + "no better MX answered");
        assertThat(((RcptDecision.Refuse) forClient(p, "looped@relay.test")).reply().summary())
                .isEqualTo("550 5.4.6 <looped@relay.test>: recipient address rejected: undeliverable address: "
                        + "mail for relay.test loops back to myself");
        assertThat(forClient(p, "postmaster@relay.test")).isEqualTo(new RcptDecision.Accept(new Route.Relay("relay.test")));
        // A local part that routes on by itself is refused before the primary is asked, whatever it would say.
        assertThat(forClient(p, "alice%victim.test@relay.test")).isInstanceOfSatisfying(RcptDecision.Refuse.class,
                r -> assertThat(r.reply().summary()).startsWith("554 5.7.1").contains("Relay access denied"));
        assertThat(asked).containsExactly("alice@relay.test relay.test " + Duration.ofDays(2) + " " + Duration.ofHours(1),
                "ghost@relay.test relay.test " + Duration.ofDays(2) + " " + Duration.ofHours(1),
                "bob@relay.test relay.test " + Duration.ofDays(2) + " " + Duration.ofHours(1),
                "looped@relay.test relay.test " + Duration.ofDays(2) + " " + Duration.ofHours(1));
    }

    @Test
    void withoutAVerifierACalloutDomainAnswers450() throws Exception {
        DomainPolicy p = new DomainPolicy(ConfigLoader.parse("trusted-networks: []\ndomains:\n  relay.test:\n    role: backup\n"
                + "    verify: callout\n", Path.of("mxd.yaml")));
        assertThat(((RcptDecision.Refuse) forClient(p, "bob@relay.test")).reply().code()).isEqualTo(450);
    }

    @Test
    void verifySettingsThatContradictEachOtherAreConfigErrors() {
        assertThat(error("domains:\n  r.test:\n    role: backup\n    verify: list\n")).contains("verify: list needs");
        assertThat(error("domains:\n  r.test:\n    role: backup\n    verify: callout\n    mailboxes: [a]\n"))
                .contains("verify: callout does not use mailboxes");
        assertThat(error("domains:\n  r.test:\n    role: local\n    mailboxes: [postmaster]\n    verify: callout\n"))
                .contains("is for backup domains");
        assertThat(error("domains:\n  r.test:\n    role: backup\n    verify-positive-expire: 1d\n"))
                .contains("are for verify: callout");
        assertThat(error("domains:\n  r.test:\n    role: backup\n    verify: sometimes\n")).contains("write none, list or callout");
    }

    private static String error(String yaml) {
        try {
            ConfigLoader.parse(yaml, Path.of("mxd.yaml"));
        } catch (ConfigException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected a configuration error for:\n" + yaml);
    }
}
