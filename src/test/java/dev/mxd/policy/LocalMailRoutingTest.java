package dev.mxd.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Routes for mail mxd makes itself (notices): no trust asked, and a postmaster that always exists. */
class LocalMailRoutingTest {

    private static final String DOMAINS = "domains:\n  relay.test:\n    role: backup\n"
            + "  first.test:\n    role: local\n    mailboxes: [alice]\n    aliases: {postmaster: alice}\n";

    private static DomainPolicy policy(String yaml) throws Exception {
        return new DomainPolicy(ConfigLoader.parse("hostname: mx9.example.test\ntrusted-networks: []\n" + yaml, Path.of("mxd.yaml")));
    }

    @Test
    void everyDomainIsRoutedWithoutTrustedNetworks() throws Exception {
        DomainPolicy p = policy(DOMAINS);
        assertThat(p.routeLocalMail(Mailbox.parse("alice@first.test"))).contains(new Route.Local("first.test", List.of("alice")));
        assertThat(p.routeLocalMail(Mailbox.parse("carol@relay.test"))).contains(new Route.Relay("relay.test"));
        assertThat(p.routeLocalMail(Mailbox.parse("dave@remote.test"))).contains(new Route.Relay("remote.test"));
        assertThat(p.routeLocalMail(Mailbox.parse("nobody@first.test"))).as("no such mailbox: the caller tells the postmaster")
                .isEmpty();
    }

    @Test
    void postmasterOfTheFirstLocalDomainByDefault() throws Exception {
        assertThat(policy(DOMAINS).noticePostmaster()).isEqualTo(new Recipient(new Mailbox("postmaster", "first.test"),
                RcptParameters.NONE, new Route.Local("first.test", List.of("alice"))));
    }

    @Test
    void configuredDoubleBounceRecipientWins() throws Exception {
        assertThat(policy(DOMAINS + "delivery:\n  double-bounce-recipient: ops@remote.test\n").noticePostmaster())
                .isEqualTo(new Recipient(Mailbox.parse("ops@remote.test"), RcptParameters.NONE, new Route.Relay("remote.test")));
    }

    @Test
    void withoutALocalDomainTheHostsOwnPostmasterMaildir() throws Exception {
        assertThat(policy("domains:\n  relay.test:\n    role: backup\n").noticePostmaster())
                .isEqualTo(new Recipient(new Mailbox("postmaster", "mx9.example.test"), RcptParameters.NONE,
                        new Route.Local("mx9.example.test", List.of("postmaster"))));
    }

    @Test
    void aConfiguredAddressLeadingToNoMailboxFallsBackToTheHostsPostmaster() throws Exception {
        assertThat(policy(DOMAINS + "delivery:\n  double-bounce-recipient: nobody@first.test\n").noticePostmaster().route())
                .isEqualTo(new Route.Local("mx9.example.test", List.of("postmaster")));
    }
}
