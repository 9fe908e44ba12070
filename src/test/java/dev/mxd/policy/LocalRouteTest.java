package dev.mxd.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 point 5: {@code delivery.routes} with {@code local} makes a backup domain's mail final
 * here: its recipients get a local route to their mailboxes (and bounces to them too), while a
 * backup domain without that route is still relayed.
 */
class LocalRouteTest {

    private static final ClientInfo OUTSIDE = new ClientInfo(new InetSocketAddress("192.0.2.1", 40000), "client.test", false, false);

    private static DomainPolicy policy() throws Exception {
        MxdConfig c = ConfigLoader.parse("""
                domains:
                  kept.test: {role: backup, mailboxes: [carol, postmaster], aliases: {team: [carol]}}
                  relayed.test: {role: backup}
                delivery:
                  routes:
                    kept.test: local
                """, Path.of("mxd.yaml"));
        return new DomainPolicy(c);
    }

    @Test
    void aBackupDomainRoutedLocalIsDeliveredToItsMailboxes() throws Exception {
        DomainPolicy p = policy();
        assertThat(p.decide(Mailbox.parse("carol@kept.test"), OUTSIDE))
                .isEqualTo(new RcptDecision.Accept(new Route.Local("kept.test", List.of("carol"))));
        assertThat(p.decide(Mailbox.parse("team@kept.test"), OUTSIDE))
                .isEqualTo(new RcptDecision.Accept(new Route.Local("kept.test", List.of("carol"))));
        assertThat(p.decide(Mailbox.parse("nobody@kept.test"), OUTSIDE)).isInstanceOf(RcptDecision.Refuse.class);
        assertThat(p.routeLocalMail(Mailbox.parse("carol@kept.test"))).contains(new Route.Local("kept.test", List.of("carol")));
    }

    @Test
    void aBackupDomainWithoutTheRouteIsStillRelayed() throws Exception {
        assertThat(policy().decide(Mailbox.parse("anyone@relayed.test"), OUTSIDE))
                .isEqualTo(new RcptDecision.Accept(new Route.Relay("relayed.test")));
    }
}
