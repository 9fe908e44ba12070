package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.Spool;
import dev.mxd.testing.Await;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Local recipients end to end: RFC 5321 §4.5.1 postmaster (with and without a domain), and one
 * copy per mailbox however many recipients of a message lead to it. TestMx's example.test has
 * mailboxes alice and bob, aliases postmaster → alice and team → alice, bob.
 */
class LocalRecipientsTest {

    private TestMx mx;

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.start("trusted-networks: []\n");
    }

    @AfterEach
    void stop() {
        mx.close();
    }

    private String send(String subject, String... rcpts) throws Exception {
        return send(mx, subject, rcpts);
    }

    /** Sends one message to the given RCPT arguments (each must be accepted); returns the queue id. */
    static String send(TestMx mx, String subject, String... rcpts) throws Exception {
        try (RawSmtp c = transaction(mx)) {
            for (String r : rcpts) {
                c.send("RCPT TO:" + r + "\r\n");
                assertThat(c.reply()).as(r).startsWith("250 2.1.5");
            }
            c.send("DATA\r\n");
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: " + subject + "\r\n\r\nbody\r\n.\r\n");
            String reply = c.reply();
            assertThat(reply).startsWith("250 2.0.0 OK queued as ");
            return reply.substring("250 2.0.0 OK queued as ".length());
        }
    }

    private void awaitSpoolEmpty(String id) throws Exception {
        Await.within(Duration.ofSeconds(20), () -> mx.mx().spool().state(id).isEmpty());
        assertThat(mx.mx().spool().state(id)).as("message %s delivered and removed", id).isEmpty();
    }

    /** Sends a message to each RCPT argument in turn (its subject), waits until each is delivered; alice's messages then. */
    private List<String> aliceAfter(String... rcpts) throws Exception {
        for (String r : rcpts) {
            awaitSpoolEmpty(send(r, r));
        }
        List<String> texts = new java.util.ArrayList<>();
        for (Path p : mx.delivered("alice")) {
            texts.add(Files.readString(p, StandardCharsets.UTF_8));
        }
        return texts;
    }

    @Test
    void barePostmasterIsAcceptedInAnyCaseAndDeliveredToTheLocalPostmaster() throws Exception {
        assertThat(aliceAfter("<Postmaster>", "<POSTMASTER> NOTIFY=NEVER")).hasSize(2).allSatisfy(t -> assertThat(t)
                .contains("Delivered-To: postmaster@example.test\n").contains("\tfor <postmaster@example.test>;"));
        assertThat(mx.delivered("bob")).isEmpty();
    }

    @Test
    void postmasterAtTheLocalDomainIsAlwaysDeliverable() throws Exception {
        awaitSpoolEmpty(send("domain", "<pOstMaster@EXAMPLE.TEST>"));
        assertThat(mx.delivered("alice")).hasSize(1);
    }

    /**
     * From a client no trusted network lists: postmaster at this host's name and at its own address literal (RFC 1123
     * §5.2.17) is the postmaster, delivered as such; any other mailbox at its address is unknown (550), where both were
     * refused as relaying (554 5.7.1), and from a trusted client accepted and bounced as a loop (5.4.6).
     */
    @Test
    void postmasterAtThisHostsNameOrAddressLiteralIsDelivered() throws Exception {
        assertThat(aliceAfter("<postmaster@[127.0.0.1]>", "<PostMaster@MX1.example.test>")).hasSize(2)
                .anySatisfy(t -> assertThat(t).contains("Delivered-To: postmaster@[127.0.0.1]\n"))
                .anySatisfy(t -> assertThat(t).contains("Delivered-To: PostMaster@MX1.example.test\n"));
        try (RawSmtp c = transaction(mx)) {
            c.send("RCPT TO:<bob@[127.0.0.1]>\r\n");
            assertThat(c.reply()).startsWith("550 5.1.1");
        }
    }

    @Test
    void oneCopyPerMailboxWhateverLeadsThere() throws Exception {
        // alice four ways (herself, team, postmaster, herself again); bob once through team.
        String id = send("dup", "<alice@example.test>", "<team@example.test>", "<Postmaster>", "<ALICE@example.test>");
        awaitSpoolEmpty(id);
        List<Path> alice = mx.delivered("alice");
        List<Path> bob = mx.delivered("bob");
        assertThat(alice).hasSize(1);
        assertThat(bob).hasSize(1);
        assertThat(Files.readString(alice.get(0), StandardCharsets.UTF_8)).startsWith("Return-Path: <sender@client.test>\n"
                + "Delivered-To: alice@example.test\n");
        assertThat(Files.readString(bob.get(0), StandardCharsets.UTF_8)).contains("Delivered-To: team@example.test\n");
    }

    /**
     * recipient-delimiter (default "+"): alice+news is alice's when no mailbox or alias has that whole
     * name, delivered with the address as sent in Delivered-To (so a mail client can sort by it); an
     * alias takes an extension too; an unknown base is still refused at RCPT.
     */
    @Test
    void anAddressExtensionIsDeliveredToTheMailboxOfItsBase() throws Exception {
        awaitSpoolEmpty(send("plus", "<alice+news@example.test>"));
        List<Path> alice = mx.delivered("alice");
        assertThat(alice).hasSize(1);
        assertThat(Files.readString(alice.get(0), StandardCharsets.UTF_8)).contains("Delivered-To: alice+news@example.test\n")
                .contains("\tfor <alice+news@example.test>;");
        awaitSpoolEmpty(send("team", "<team+x@example.test>"));
        assertThat(mx.delivered("alice")).hasSize(2);
        assertThat(mx.delivered("bob")).hasSize(1);
        assertThat(rcptReplies("<carol+news@example.test>", "<+alice@example.test>")) // a delimiter first ends no base
                .allSatisfy(r -> assertThat(r).startsWith("550 5.1.1"));
    }

    /** A connection greeted, EHLO and MAIL FROM said. */
    private static RawSmtp transaction(TestMx mx) throws Exception {
        RawSmtp c = new RawSmtp(mx.smtp());
        assertThat(c.code()).isEqualTo(220);
        c.send("EHLO client.test\r\n");
        assertThat(c.code()).isEqualTo(250);
        c.send("MAIL FROM:<sender@client.test>\r\n");
        assertThat(c.code()).isEqualTo(250);
        return c;
    }

    /** The replies to RCPT of each address, in one transaction. */
    private List<String> rcptReplies(String... rcpts) throws Exception {
        try (RawSmtp c = transaction(mx)) {
            List<String> replies = new java.util.ArrayList<>();
            for (String r : rcpts) {
                c.send("RCPT TO:" + r + "\r\n");
                replies.add(c.reply());
            }
            return replies;
        }
    }

    /** The delimiter is recipient policy: a reload (SIGHUP) changes it, as Postfix's reload does. */
    @Test
    void anEmptyRecipientDelimiterReloadedMatchesLocalPartsWhole() throws Exception {
        Files.writeString(mx.configFile(), "recipient-delimiter: \"\"\n" + Files.readString(mx.configFile()));
        assertThat(mx.mx().reload(mx.configFile())).isTrue();
        List<String> replies = rcptReplies("<alice+news@example.test>", "<alice@example.test>");
        assertThat(replies.get(0)).startsWith("550 5.1.1");
        assertThat(replies.get(1)).startsWith("250 2.1.5");
    }

    // A delivered message's text file holds a later message's text (docs/spool.md, "Spare text files"):
    // the shorter message that follows a longer one reaches its mailbox whole, with nothing of the other.

    private List<String> spoolData() throws Exception {
        try (Stream<Path> s = Files.list(mx.mx().spool().root().resolve("data"))) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    @Test
    void theMessageAfterALongerOneIsDeliveredWithNothingOfIt() throws Exception {
        String filler = "private words of the first message\r\n".repeat(600); // 21 KB
        mx.send("", "alice@example.test", ("Subject: long\r\n\r\n" + filler).getBytes(StandardCharsets.US_ASCII));
        mx.awaitDelivered("alice", 1, Duration.ofSeconds(20));
        assertThat(Await.within(Duration.ofSeconds(10), this::onlyEmptySpares)).as("its file emptied, a spare: %s", spoolData()).isTrue();
        // A spare is handed out after the next fsync of data/: this message's commit makes one.
        mx.send("", "alice@example.test", "Subject: between\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII));
        mx.awaitDelivered("alice", 2, Duration.ofSeconds(20));

        mx.send("", "bob@example.test", "Subject: short\r\n\r\nhello bob\r\n".getBytes(StandardCharsets.US_ASCII));
        List<Path> bob = mx.awaitDelivered("bob", 1, Duration.ofSeconds(20));
        String copy = Files.readString(bob.get(0), StandardCharsets.US_ASCII);
        assertThat(copy).contains("Subject: short\n").endsWith("\nhello bob\n").doesNotContain("private words")
                .doesNotContain("#mxd-envelope");
        assertThat(Await.within(Duration.ofSeconds(10), this::onlyEmptySpares)).as("every file a spare again: %s", spoolData()).isTrue();
        assertThat(spoolData()).as("three messages, at most three spares: the short one took one").hasSizeLessThan(3);
    }

    /** The spool's data/ holds only spares, all empty (a delivered message's file becomes one a moment after its delivery). */
    private boolean onlyEmptySpares() throws Exception {
        List<String> files = spoolData();
        Path data = mx.mx().spool().root().resolve("data");
        for (String f : files) {
            if (!Spool.isSpare(Path.of(f)) || Files.size(data.resolve(f)) != 0) {
                return false;
            }
        }
        return !files.isEmpty();
    }
}
