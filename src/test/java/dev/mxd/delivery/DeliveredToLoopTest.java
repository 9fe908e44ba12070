package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.queue.DeliveryResult;
import dev.mxd.queue.DeliveryState;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message that already went through a final delivery to an address (its Delivered-To field, as
 * this agent and Postfix's local add it) and comes back to that address (a forwarder elsewhere,
 * a mail client's redirect) is a loop: the recipient fails with 5.4.6 and no copy is written, as
 * Postfix's local does. Before, each pass added a copy, until the hop limit.
 */
class DeliveredToLoopTest {

    @TempDir
    Path dir;

    @Test
    void aMessageBackAtAnAddressItWasDeliveredToFailsAsALoop() throws Exception {
        Maildir maildir = new Maildir(dir.resolve("mail"), "mx.test", Clock.systemUTC());
        LocalDeliveryAgent agent = new LocalDeliveryAgent(maildir);
        Path text = Files.write(dir.resolve("text"), ("Received: from far.test\r\n"
                + "delivered-to:\r\n <ALICE@Example.test>\r\n"
                + "Delivered-To: carol@elsewhere.test\r\n"
                + "Subject: forwarded back\r\n\r\nDelivered-To: bob@example.test\r\n").getBytes(StandardCharsets.US_ASCII));
        RecipientStatus alice = pending("alice@example.test", "alice");
        RecipientStatus bob = pending("bob@example.test", "bob");
        Envelope e = envelope("Q1", text, alice, bob);

        List<DeliveryResult> results = agent.deliver(e, text, List.of(alice, bob));

        assertThat(results.get(0)).isInstanceOf(DeliveryResult.Failed.class);
        assertThat(results.get(0).status()).isEqualTo(EnhancedStatus.ROUTING_LOOP);
        assertThat(results.get(0).detail()).isEqualTo("mail forwarding loop for alice@example.test");
        assertThat(Files.exists(maildir.directory("example.test", "alice"))).as("no copy for alice").isFalse();
        assertThat(results.get(1)).as("a Delivered-To in the body is no field").isInstanceOf(DeliveryResult.Delivered.class);
        try (var copies = Files.list(maildir.directory("example.test", "bob").resolve("new"))) {
            assertThat(copies).hasSize(1);
        }
    }

    @Test
    void anSmtpUtf8AddressIsKnownAgainInEitherFormOfItsDomain() throws Exception {
        Maildir maildir = new Maildir(dir.resolve("mail"), "mx.test", Clock.systemUTC());
        LocalDeliveryAgent agent = new LocalDeliveryAgent(maildir);
        // the field as this agent wrote it at the first pass: UTF-8 octets
        Path text = Files.write(dir.resolve("text"), ("Delivered-To: J\u00f6rg@b\u00fccher.test\r\n"
                + "Subject: back again\r\n\r\nhi\r\n").getBytes(StandardCharsets.UTF_8));
        RecipientStatus back = pending("j\u00d6rg@xn--bcher-kva.test", "joerg");
        RecipientStatus other = pending("j\u00f6rn@b\u00fccher.test", "joern");
        Envelope e = envelope("Q2", text, back, other);

        List<DeliveryResult> results = agent.deliver(e, text, List.of(back, other));

        assertThat(results.get(0)).isInstanceOf(DeliveryResult.Failed.class);
        assertThat(results.get(0).status()).isEqualTo(EnhancedStatus.ROUTING_LOOP);
        assertThat(Files.exists(maildir.directory("example.test", "joerg"))).as("no copy on the second pass").isFalse();
        assertThat(results.get(1)).isInstanceOf(DeliveryResult.Delivered.class);
    }

    /**
     * The loop is checked at each mailbox an alias (or the catch-all) leads to, as Postfix's local checks at each
     * expansion: a message delivered to alice before that comes back to an alias of alice and bob gives bob his copy
     * and alice no second one; an alias of alice alone fails as a loop. Before, only the address in RCPT was checked.
     */
    @Test
    void aMailboxAnAliasLeadsToIsCheckedToo() throws Exception {
        Maildir maildir = new Maildir(dir.resolve("mail"), "mx.test", Clock.systemUTC());
        LocalDeliveryAgent agent = new LocalDeliveryAgent(maildir);
        Path text = Files.write(dir.resolve("text"), ("Delivered-To: Alice@example.test\r\n"
                + "Subject: back via the team\r\n\r\nhi\r\n").getBytes(StandardCharsets.US_ASCII));
        RecipientStatus team = new RecipientStatus(new Recipient(Mailbox.parse("team@example.test"), RcptParameters.NONE,
                new Route.Local("example.test", List.of("alice", "bob"))), DeliveryState.PENDING, "", Instant.now());
        RecipientStatus solo = pending("alice2@example.test", "alice");
        Envelope e = envelope("Q3", text, team, solo);

        List<DeliveryResult> results = agent.deliver(e, text, List.of(team, solo));

        assertThat(results.get(0)).isInstanceOf(DeliveryResult.Delivered.class);
        assertThat(Files.exists(maildir.directory("example.test", "alice"))).as("no second copy for alice").isFalse();
        try (var copies = Files.list(maildir.directory("example.test", "bob").resolve("new"))) {
            assertThat(copies).hasSize(1);
        }
        assertThat(results.get(1)).isInstanceOf(DeliveryResult.Failed.class);
        assertThat(results.get(1).status()).isEqualTo(EnhancedStatus.ROUTING_LOOP);
        assertThat(results.get(1).detail()).isEqualTo("mail forwarding loop for alice@example.test");
    }

    /**
     * Mail alice redirects from her mailbox to her own sub-address is delivered, as Postfix delivers it (its loop check
     * takes the address as sent): alice+archive@ reaches alice directly, not through an alias.
     */
    @Test
    void aSubAddressOfAMailboxThatHadItIsDelivered() throws Exception {
        Maildir maildir = new Maildir(dir.resolve("mail"), "mx.test", Clock.systemUTC());
        LocalDeliveryAgent agent = new LocalDeliveryAgent(maildir);
        Path text = Files.write(dir.resolve("text"), ("Delivered-To: alice@example.test\r\n"
                + "Subject: to my archive\r\n\r\nhi\r\n").getBytes(StandardCharsets.US_ASCII));
        RecipientStatus tagged = pending("Alice+archive@example.test", "alice");
        Envelope e = envelope("Q4", text, tagged);

        assertThat(agent.deliver(e, text, List.of(tagged))).singleElement().isInstanceOf(DeliveryResult.Delivered.class);
        try (var copies = Files.list(maildir.directory("example.test", "alice").resolve("new"))) {
            assertThat(copies).hasSize(1);
        }
    }

    private static Envelope envelope(String id, Path text, RecipientStatus... recipients) throws java.io.IOException {
        return new Envelope(id, Optional.of(Mailbox.parse("a@x.test")), MailParameters.NONE, List.of(recipients),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 1), "client.test", true, false), Instant.now(), Files.size(text));
    }

    private static RecipientStatus pending(String address, String mailbox) {
        Recipient r = new Recipient(Mailbox.parse(address), RcptParameters.NONE, new Route.Local("example.test", List.of(mailbox)));
        return new RecipientStatus(r, DeliveryState.PENDING, "", Instant.now());
    }
}
