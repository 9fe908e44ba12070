package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.FakeSmtpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 5321 §4.5.3.1.10: a server may take some RCPTs of a transaction and answer 452 "too many
 * recipients" to the others; those go again at once in a new transaction on the same connection.
 */
class TooManyRecipientsTest {

    private static final byte[] MESSAGE = "Subject: test\r\n\r\nHello\r\n".getBytes(StandardCharsets.US_ASCII);

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    /** Answers {@code refusal} to every RCPT after the first of each transaction. */
    private FakeSmtpServer onePerTransaction(List<String> ehlo, String refusal) throws IOException {
        AtomicInteger rcpts = new AtomicInteger();
        Function<String, String> responder = line -> {
            String verb = line.split(" ", 2)[0];
            if (verb.equals("MAIL")) {
                rcpts.set(0);
            } else if (verb.equals("RCPT") && rcpts.incrementAndGet() > 1) {
                return refusal;
            }
            return null;
        };
        FakeSmtpServer s = FakeSmtpServer.start("220 fake.test ESMTP", ehlo, responder);
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

    private static Envelope envelope(String... rcpts) {
        return Envelope.of("sender@client.test", List.of(rcpts).stream().map(Recipient::of).toList(), MessageContent.of(MESSAGE));
    }

    private static TransactionResult.Completed completed(TransactionResult r) {
        assertThat(r).isInstanceOf(TransactionResult.Completed.class);
        return (TransactionResult.Completed) r;
    }

    @Test
    void recipientsRefusedAsTooManyGoInANewTransactionAtOnce() throws IOException {
        for (List<String> ehlo : List.of(List.of("PIPELINING", "ENHANCEDSTATUSCODES"), List.of("ENHANCEDSTATUSCODES"))) {
            FakeSmtpServer s = onePerTransaction(ehlo, "452 4.5.3 Too many recipients");
            SmtpConnection c = connect(s);
            TransactionResult.Completed done = completed(c.send(envelope("a@fake.test", "b@fake.test", "c@fake.test")));
            assertThat(done.recipients()).as("with %s", ehlo).allSatisfy(o -> assertThat(o).isInstanceOf(RecipientOutcome.Accepted.class));
            assertThat(done.recipients()).extracting(o -> o.recipient().address())
                    .containsExactly("a@fake.test", "b@fake.test", "c@fake.test");
            assertThat(s.messages).as("one copy per transaction").hasSize(3);
            assertThat(s.commands("MAIL")).hasSize(3);
            assertThat(s.commands("RSET")).as("a completed transaction needs no RSET").isEmpty();
            assertThat(c.transactions()).isEqualTo(3);
            assertThat(c.reusable()).isTrue();
        }
    }

    @Test
    void a452WithoutAnEnhancedCodeCountsAsTooMany() throws IOException {
        FakeSmtpServer s = onePerTransaction(List.of("PIPELINING"), "452 Too many recipients");
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.accepted()).hasSize(2);
    }

    @Test
    void a452ForAFullMailboxIsDeferredNotResent() throws IOException {
        FakeSmtpServer s = onePerTransaction(List.of("PIPELINING", "ENHANCEDSTATUSCODES"), "452 4.2.2 Mailbox full");
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients().get(0)).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(done.recipients().get(1)).isInstanceOf(RecipientOutcome.Deferred.class);
        assertThat(s.commands("MAIL")).hasSize(1);
    }

    @Test
    void withNoRecipientAcceptedThe452sAreDeferredNotResent() throws IOException {
        FakeSmtpServer s = FakeSmtpServer.start("220 fake.test ESMTP", List.of("PIPELINING", "ENHANCEDSTATUSCODES"),
                line -> line.startsWith("RCPT") ? "452 4.5.3 Too many recipients" : null);
        open.add(s);
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients()).allSatisfy(o -> assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class));
        assertThat(s.commands("MAIL")).hasSize(1);
    }

    @Test
    void aConnectionLostInALaterRoundDefersOnlyTheRest() throws IOException {
        AtomicInteger mails = new AtomicInteger();
        AtomicInteger rcpts = new AtomicInteger();
        FakeSmtpServer s = FakeSmtpServer.start("220 fake.test ESMTP", List.of("ENHANCEDSTATUSCODES"), line -> {
            if (line.startsWith("MAIL")) {
                rcpts.set(0);
                return mails.incrementAndGet() > 1 ? FakeSmtpServer.HANG_UP : null;
            }
            return line.startsWith("RCPT") && rcpts.incrementAndGet() > 1 ? "452 4.5.3 Too many recipients" : null;
        });
        open.add(s);
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients().get(0)).as("the first round delivered it: not to be sent elsewhere")
                .isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(done.recipients().get(1)).isInstanceOf(RecipientOutcome.Deferred.class);
        assertThat(((RecipientOutcome.Deferred) done.recipients().get(1)).maybeDelivered()).isFalse();
    }
}
