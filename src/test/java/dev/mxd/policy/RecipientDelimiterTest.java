package dev.mxd.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code recipient-delimiter}: which mailbox an address with an extension reaches, on configurations alone. */
class RecipientDelimiterTest {

    private static final ClientInfo STRANGER = new ClientInfo(new InetSocketAddress("192.0.2.9", 4000), "x.test", true, false);

    private static DomainPolicy policy(String yaml) throws Exception {
        return new DomainPolicy(ConfigLoader.parse("trusted-networks: []\n" + yaml, Path.of("mxd.yaml")));
    }

    private static RcptDecision local(String domain, String... boxes) {
        return new RcptDecision.Accept(new Route.Local(domain, List.of(boxes)));
    }

    @Test
    void theWholeLocalPartIsLookedUpBeforeItsBase() throws Exception {
        DomainPolicy p = policy("domains:\n  d.test:\n    role: local\n    mailboxes: [alice, alice+work, postmaster]\n"
                + "    aliases: {sales: alice, sales+eu: postmaster}\n");
        assertThat(p.decide(Mailbox.parse("alice+work@d.test"), STRANGER)).isEqualTo(local("d.test", "alice+work"));
        assertThat(p.decide(Mailbox.parse("Alice+Home@D.test"), STRANGER)).isEqualTo(local("d.test", "alice"));
        assertThat(p.decide(Mailbox.parse("sales+eu@d.test"), STRANGER)).isEqualTo(local("d.test", "postmaster"));
        assertThat(p.decide(Mailbox.parse("sales+us@d.test"), STRANGER)).isEqualTo(local("d.test", "alice"));
        // the first delimiter ends the base
        assertThat(p.decide(Mailbox.parse("alice+a+b@d.test"), STRANGER)).isEqualTo(local("d.test", "alice"));
    }

    @Test
    void aKnownBaseComesBeforeTheCatchAll() throws Exception {
        DomainPolicy p = policy("domains:\n  d.test:\n    role: local\n    mailboxes: [alice, bin, postmaster]\n    catch-all: bin\n");
        assertThat(p.decide(Mailbox.parse("alice+x@d.test"), STRANGER)).isEqualTo(local("d.test", "alice"));
        assertThat(p.decide(Mailbox.parse("nobody+x@d.test"), STRANGER)).isEqualTo(local("d.test", "bin"));
    }

    @Test
    void severalDelimiterCharactersAndNone() throws Exception {
        DomainPolicy both = policy("recipient-delimiter: \"+-\"\ndomains:\n  d.test:\n    role: local\n    mailboxes: [alice, postmaster]\n");
        assertThat(both.decide(Mailbox.parse("alice-lists@d.test"), STRANGER)).isEqualTo(local("d.test", "alice"));
        assertThat(both.decide(Mailbox.parse("alice+x@d.test"), STRANGER)).isEqualTo(local("d.test", "alice"));
        DomainPolicy none = policy("recipient-delimiter: ''\ndomains:\n  d.test:\n    role: local\n    mailboxes: [alice, postmaster]\n");
        assertThat(none.decide(Mailbox.parse("alice+x@d.test"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
        assertThat(none.decide(Mailbox.parse("alice@d.test"), STRANGER)).isEqualTo(local("d.test", "alice"));
    }

    /**
     * A backup domain's list is matched whole, postmaster exactly: whether the primary takes extensions
     * is not known here, and accepting what it refuses would bounce to forged senders (backscatter).
     */
    @Test
    void aBackupDomainsListIsMatchedWhole() throws Exception {
        DomainPolicy p = policy("domains:\n  b.test:\n    role: backup\n    mailboxes: [carol]\n");
        assertThat(p.decide(Mailbox.parse("carol@b.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Relay("b.test")));
        assertThat(p.decide(Mailbox.parse("carol+x@b.test"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
        assertThat(p.decide(Mailbox.parse("postmaster+x@b.test"), STRANGER)).isInstanceOf(RcptDecision.Refuse.class);
        assertThat(p.decide(Mailbox.parse("postmaster@b.test"), STRANGER)).isEqualTo(new RcptDecision.Accept(new Route.Relay("b.test")));
    }

    /** As Postfix's split_addr: special and list addresses keep their whole local part. */
    @Test
    void listAddressesAndSpecialNamesAreNotSplit() throws Exception {
        DomainPolicy p = policy("recipient-delimiter: \"+-\"\ndomains:\n  d.test:\n    role: local\n"
                + "    mailboxes: [alice, owner, bin, postmaster, mailer]\n    aliases: {list: [alice, owner]}\n    catch-all: bin\n");
        assertThat(p.decide(Mailbox.parse("list-request@d.test"), STRANGER)).isEqualTo(local("d.test", "bin"));
        assertThat(p.decide(Mailbox.parse("owner-list@d.test"), STRANGER)).isEqualTo(local("d.test", "bin"));
        assertThat(p.decide(Mailbox.parse("list+x@d.test"), STRANGER)).isEqualTo(local("d.test", "alice", "owner"));
        assertThat(p.decide(Mailbox.parse("owner-list+x@d.test"), STRANGER)).isEqualTo(local("d.test", "bin"));
        assertThat(p.decide(Mailbox.parse("mailer-daemon@d.test"), STRANGER)).isEqualTo(local("d.test", "bin"));
        assertThat(p.decide(Mailbox.parse("+alice+x@d.test"), STRANGER)).isEqualTo(local("d.test", "bin"));
        assertThat(p.decide(Mailbox.parse("postmaster+x@d.test"), STRANGER)).isEqualTo(local("d.test", "postmaster"));
    }

    /** An alias wins over a mailbox of the same name (Postfix looks aliases up first); it was ignored. */
    @Test
    void anAliasWinsOverAMailboxOfTheSameName() throws Exception {
        DomainPolicy p = policy("domains:\n  d.test:\n    role: local\n    mailboxes: [alice, bob, postmaster]\n"
                + "    aliases: {alice: [alice, bob], postmaster: bob}\n");
        assertThat(p.decide(Mailbox.parse("alice@d.test"), STRANGER)).isEqualTo(local("d.test", "alice", "bob"));
        assertThat(p.decide(Mailbox.parse("postmaster@d.test"), STRANGER)).isEqualTo(local("d.test", "bob"));
    }

    @Test
    void aDelimiterThatCannotEndALocalPartBaseIsRefusedWithItsLine() {
        assertThatThrownBy(() -> ConfigLoader.parse("hostname: mx.test\nrecipient-delimiter: \"+@\"\n", Path.of("mxd.yaml")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mxd.yaml:2")
                .hasMessageContaining("recipient-delimiter '+@' holds '@'");
        assertThatThrownBy(() -> ConfigLoader.parse("recipient-delimiter: \"a\"\n", Path.of("mxd.yaml")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("holds 'a'");
    }

    /** An empty value, ~, an unquoted # or an empty block (| or >) is refused, not taken for + or for none. */
    @Test
    void aDelimiterWithoutAValueIsRefusedRatherThanDefaulted() {
        for (String v : new String[] {"", " ~", " #", " |", " >"}) {
            assertThatThrownBy(() -> ConfigLoader.parse("hostname: mx.test\nrecipient-delimiter:" + v + "\n", Path.of("mxd.yaml")))
                    .as(v).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("mxd.yaml:2")
                    .hasMessageContaining("recipient-delimiter: no value");
        }
    }
}
