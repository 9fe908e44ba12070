package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.FakeSmtpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A message received with SMTPUTF8 going to a server without it (RFC 6531 §3.2, §3.4): sent
 * without the parameter when nothing in it needs SMTPUTF8, refused whole when its sender or a
 * header field does, and per recipient when only some addresses have no ASCII form.
 */
class SmtpUtf8DowngradeTest {

    private static final List<String> NO_SMTPUTF8 = List.of("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES");

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private FakeSmtpServer server(List<String> ehlo) throws IOException {
        FakeSmtpServer s = FakeSmtpServer.start("220 fake.test ESMTP", ehlo, c -> null);
        open.add(s);
        return s;
    }

    private SmtpConnection connect(FakeSmtpServer s) {
        OpenResult r = SmtpConnection.open(s.address(), "mx.fake.test",
                ClientSettings.defaults("client.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))));
        assertThat(r).isInstanceOf(OpenResult.Ready.class);
        SmtpConnection c = ((OpenResult.Ready) r).connection();
        open.add(c);
        return c;
    }

    /** Received with SMTPUTF8 (the flag), as mxd's delivery builds it from the spooled envelope. */
    private static Envelope utf8(String sender, String text, String... rcpts) {
        return new Envelope(sender, List.of(rcpts).stream().map(Recipient::of).toList(), false, true,
                Optional.empty(), Optional.empty(), MessageContent.of(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static TransactionResult.Completed completed(TransactionResult r) {
        assertThat(r).isInstanceOf(TransactionResult.Completed.class);
        return (TransactionResult.Completed) r;
    }

    @Test
    void anAsciiMessageReceivedWithSmtputf8GoesWithoutTheParameter() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test",
                "Subject: plain\r\n\r\nbody \u00e9t\u00e9 in UTF-8 is 8BITMIME's business\r\n", "x@fake.test", "y@fake.test")));
        assertThat(done.accepted()).hasSize(2);
        assertThat(s.commands("MAIL").get(0)).isEqualTo("MAIL FROM:<a@client.test> +").doesNotContain("SMTPUTF8");
        assertThat(s.messages).hasSize(1);
    }

    @Test
    void aNonAsciiHeaderFieldFailsEveryRecipientWith567() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test",
                "From: a@client.test\r\nSubject: gr\u00fc\u00dfe\r\n\r\nbody\r\n", "x@fake.test", "y@fake.test")));
        assertThat(done.recipients()).hasSize(2).allSatisfy(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.6.7");
            assertThat(o.detail()).contains("Subject header field");
        });
        assertThat(s.commands("MAIL")).isEmpty();
    }

    @Test
    void aFoldedNonAsciiContinuationCountsForItsField() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test",
                "Subject: long\n and \u00fc folded\nX: y\n\nbody\n", "x@fake.test")));
        assertThat(done.recipients().get(0).detail()).contains("Subject header field");
        assertThat(s.commands("MAIL")).isEmpty();
    }

    @Test
    void aNonAsciiSenderFailsEveryRecipientWith567() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8);
        TransactionResult.Completed done = completed(connect(s).send(utf8("j\u00fcrgen@client.test",
                "Subject: plain\r\n\r\nbody\r\n", "x@fake.test")));
        assertThat(done.recipients()).singleElement().satisfies(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.6.7");
            assertThat(o.detail()).contains("sender address");
        });
        assertThat(s.commands("MAIL")).isEmpty();
    }

    @Test
    void aSenderWithAnIdnDomainGoesInALabels() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8);
        completed(connect(s).send(utf8("a@b\u00fccher.test", "Subject: plain\r\n\r\nbody\r\n", "x@fake.test")));
        assertThat(s.commands("MAIL").get(0)).startsWith("MAIL FROM:<a@xn--bcher-kva.test>");
    }

    @Test
    void onlyTheRecipientsWithANonAsciiLocalPartFailAndKeepTheirPlace() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8);
        Envelope e = utf8("a@client.test", "Subject: plain\r\n\r\nbody\r\n", "x@fake.test", "\u7528\u6237@fake.test",
                "y@fake.test");
        TransactionResult.Completed done = completed(connect(s).send(e));
        assertThat(done.recipients()).extracting(o -> o.recipient().address())
                .containsExactly("x@fake.test", "\u7528\u6237@fake.test", "y@fake.test");
        assertThat(done.recipients().get(0)).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(done.recipients().get(1)).isInstanceOf(RecipientOutcome.Failed.class);
        assertThat(done.recipients().get(1).status()).hasToString("5.6.7");
        assertThat(done.recipients().get(1).detail()).contains("non-ASCII local part");
        assertThat(done.recipients().get(2)).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(s.commands("RCPT")).extracting(c -> c.replace(" +", ""))
                .containsExactly("RCPT TO:<x@fake.test>", "RCPT TO:<y@fake.test>");
    }

    @Test
    void aRecipientWithAnIdnDomainGoesInALabelsAndIsReportedAsGiven() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test", "Subject: plain\r\n\r\nbody\r\n",
                "user@b\u00fccher.test")));
        assertThat(done.accepted()).singleElement().satisfies(a -> assertThat(a.recipient().address()).isEqualTo("user@b\u00fccher.test"));
        assertThat(s.commands("RCPT").get(0)).startsWith("RCPT TO:<user@xn--bcher-kva.test>");
    }

    @Test
    void aDomainThatIdna2003WouldMapToAnotherNameIsNotRewritten() throws IOException {
        assertThat(AsciiTransaction.ascii("user@fa\u00df.test")).isEmpty(); // IDNA2003 says fass.test, another domain
        assertThat(AsciiTransaction.ascii("user@B\u00fccher.test")).contains("user@xn--bcher-kva.test");
        assertThat(AsciiTransaction.ascii("\"a@b\"@b\u00fccher.test")).contains("\"a@b\"@xn--bcher-kva.test");
        FakeSmtpServer s = server(NO_SMTPUTF8);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test", "Subject: plain\r\n\r\nbody\r\n",
                "user@fa\u00df.test", "x@fake.test")));
        assertThat(done.recipients().get(0)).isInstanceOf(RecipientOutcome.Failed.class);
        assertThat(done.recipients().get(0).detail()).contains("no A-label form");
        assertThat(done.recipients().get(1)).isInstanceOf(RecipientOutcome.Accepted.class);
    }

    @Test
    void aServerWithSmtputf8GetsEverythingAsBefore() throws IOException {
        FakeSmtpServer s = server(List.of("PIPELINING", "8BITMIME", "SMTPUTF8"));
        TransactionResult.Completed done = completed(connect(s).send(utf8("j\u00fcrgen@client.test",
                "Subject: gr\u00fc\u00dfe\r\n\r\nbody\r\n", "\u7528\u6237@fake.test", "x@b\u00fccher.test")));
        assertThat(done.accepted()).hasSize(2);
        assertThat(s.commands("MAIL").get(0)).contains(" SMTPUTF8");
        assertThat(s.commands("RCPT")).extracting(c -> c.replace(" +", ""))
                .containsExactly("RCPT TO:<\u7528\u6237@fake.test>", "RCPT TO:<x@b\u00fccher.test>");
    }

    @Test
    void theHeaderScanStopsAtTheEmptyLineAndNamesTheField() throws IOException {
        assertThat(AsciiTransaction.nonAsciiHeaderField(MessageContent.of(
                "A: b\r\n\r\n\u00fc\r\n".getBytes(StandardCharsets.UTF_8)))).isEmpty();
        assertThat(AsciiTransaction.nonAsciiHeaderField(MessageContent.of(
                "A: b\nTo: \u00fc@x\n\nbody".getBytes(StandardCharsets.UTF_8)))).contains("To");
        assertThat(AsciiTransaction.nonAsciiHeaderField(MessageContent.of(
                "A: b\r\nC: d".getBytes(StandardCharsets.UTF_8)))).isEmpty(); // no body at all
    }
}
