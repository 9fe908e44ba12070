package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.smtp.DsnReturn;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FakeSmtpServer;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link SmtpConnection} against a scripted server: the misbehaviour real servers do not produce on demand. */
class SmtpConnectionTest {

    private static final List<String> FULL = List.of("PIPELINING", "SIZE 10240000", "8BITMIME", "DSN", "SMTPUTF8",
            "ENHANCEDSTATUSCODES");
    private static final byte[] MESSAGE = "Subject: test\r\n\r\nHello\r\n".getBytes(StandardCharsets.US_ASCII);

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private FakeSmtpServer server(String greeting, List<String> ehlo, Function<String, String> responder) throws IOException {
        FakeSmtpServer s = FakeSmtpServer.start(greeting, ehlo, responder);
        open.add(s);
        return s;
    }

    private FakeSmtpServer server(List<String> ehlo, Function<String, String> responder) throws IOException {
        return server("220 fake.test ESMTP", ehlo, responder);
    }

    /** A TLS context for a scripted server: a self-signed certificate written under {@code dir}. */
    private static SSLContext serverTls(Path dir) throws Exception {
        Certificates.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        return ((JdkSslContext) SslContextBuilder.forServer(dir.resolve("cert.pem").toFile(), dir.resolve("key.pem").toFile())
                .sslProvider(SslProvider.JDK).build()).context();
    }

    private static ClientSettings settings() {
        return ClientSettings.defaults("client.test").withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5)));
    }

    private OpenResult open(FakeSmtpServer s, ClientSettings settings) {
        OpenResult r = SmtpConnection.open(s.address(), "mx.fake.test", settings);
        if (r instanceof OpenResult.Ready ready) {
            open.add(ready.connection());
        }
        return r;
    }

    private SmtpConnection connect(FakeSmtpServer s) {
        OpenResult r = open(s, settings());
        assertThat(r).as("open").isInstanceOf(OpenResult.Ready.class);
        return ((OpenResult.Ready) r).connection();
    }

    private static SessionFailure failure(OpenResult r) {
        assertThat(r).isInstanceOf(OpenResult.Failed.class);
        return ((OpenResult.Failed) r).failure();
    }

    private static TransactionResult.Completed completed(TransactionResult r) {
        assertThat(r).isInstanceOf(TransactionResult.Completed.class);
        return (TransactionResult.Completed) r;
    }

    private static OutboundEnvelope envelope(String... rcpts) {
        return OutboundEnvelope.of("sender@client.test", List.of(rcpts).stream().map(OutboundRecipient::of).toList(), MessageContent.of(MESSAGE));
    }

    /**
     * This host out of descriptors, buffers or ports (EMFILE, ENFILE, ENOBUFS, EADDRNOTAVAIL, as the JDK words
     * them) is a local failure, which does not postpone the MX host: every MX tried during such an episode was
     * passed over afterwards for its doubling retry time.
     */
    @Test
    void aLocalLimitAtConnectIsNoFaultOfTheHost() {
        java.time.Duration t = java.time.Duration.ofSeconds(30);
        for (String m : List.of("Too many open files", "Cannot assign requested address", "No buffer space available")) {
            Connect.Error e = Connect.Error.of(new java.net.SocketException(m), "192.0.2.1:25", t);
            assertThat(e.cause()).as(m).isEqualTo(SessionFailure.Cause.LOCAL);
            assertThat(e.detail()).contains("on this host").contains(m);
        }
        assertThat(Connect.Error.of(new java.net.BindException("Die angeforderte Adresse ist nicht verfügbar"), "192.0.2.1:25", t).cause())
                .as("EADDRNOTAVAIL in any language").isEqualTo(SessionFailure.Cause.LOCAL);
        assertThat(Connect.Error.of(new java.net.NoRouteToHostException("No route to host"), "192.0.2.1:25", t).cause())
                .isEqualTo(SessionFailure.Cause.UNREACHABLE);
        assertThat(Connect.Error.of(new java.net.ConnectException("Connection refused"), "192.0.2.1:25", t).cause())
                .isEqualTo(SessionFailure.Cause.REFUSED);
    }

    @Test
    void greeting421IsASessionFailureAtTheGreeting() throws IOException {
        FakeSmtpServer s = server("421 4.3.2 fake.test too busy", FULL, c -> null);
        SessionFailure f = failure(open(s, settings()));
        assertThat(f.stage()).isEqualTo(SessionStage.GREETING);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.REJECTED);
        assertThat(f.reply()).get().extracting(r -> r.code()).isEqualTo(421);
        assertThat(f.detail()).contains("421 4.3.2 fake.test too busy").contains("turns sessions away for now");
        assertThat(f.code()).isEqualTo("greeting-rejected");
    }

    @Test
    void aGreetingThatNeverComesTimesOutAtTheGreetingTimeout() throws IOException {
        FakeSmtpServer s = server(FakeSmtpServer.SILENCE, FULL, c -> null);
        ClientSettings quick = settings().withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))
                .withGreeting(Duration.ofMillis(400)));
        long start = System.nanoTime();
        SessionFailure f = failure(open(s, quick));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(f.stage()).isEqualTo(SessionStage.GREETING);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.TIMEOUT);
        assertThat(millis).isBetween(350L, 3_000L);
    }

    @Test
    void aClosedPortIsRefusedAtConnect() throws IOException {
        InetSocketAddress nothing;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nothing = (InetSocketAddress) probe.getLocalSocketAddress();
        }
        SessionFailure f = failure(SmtpConnection.open(nothing, "gone.test", settings()));
        assertThat(f.stage()).isEqualTo(SessionStage.CONNECT);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.REFUSED);
        assertThat(f.host()).isEqualTo("gone.test");
        assertThat(f.detail()).startsWith("connection to gone.test[127.0.0.1]:" + nothing.getPort() + " refused");
    }

    /** A next hop over IPv6 is named as Postfix names it, gone.test[::1]:PORT; it was gone.test[[::1]:PORT]. */
    @Test
    void aClosedIpv6PortIsNamedAsPostfixNamesIt() throws IOException {
        InetSocketAddress nothing;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            nothing = (InetSocketAddress) probe.getLocalSocketAddress();
        }
        SessionFailure f = failure(SmtpConnection.open(nothing, "gone.test", settings()));
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.REFUSED);
        assertThat(f.detail()).startsWith("connection to gone.test[::1]:" + nothing.getPort() + " refused");
    }

    @Test
    void ehloRefusedWith5xxFallsBackToHelo() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.startsWith("EHLO") ? "502 5.5.2 what is EHLO" : null);
        SmtpConnection c = connect(s);
        assertThat(c.esmtp()).isFalse();
        assertThat(c.extensions().keywords()).isEmpty();
        assertThat(s.commands).containsExactly("EHLO client.test", "HELO client.test");
        completed(c.send(envelope("a@fake.test")));
        // No extensions after HELO: a plain MAIL FROM without SIZE or BODY.
        assertThat(s.commands("MAIL")).containsExactly("MAIL FROM:<sender@client.test>");
    }

    /**
     * A 4yz to EHLO is a session failure, no HELO: a session without extensions would refuse for
     * good what the server only put off (SMTPUTF8 mail, a STARTTLS a policy requires).
     */
    @Test
    void ehloRefusedWith4xxIsASessionFailure() throws IOException {
        FakeSmtpServer later = server(FULL, c -> c.startsWith("EHLO") ? "450 4.7.1 EHLO later" : null);
        assertThat(failure(open(later, settings())).stage()).isEqualTo(SessionStage.EHLO);
        assertThat(later.commands).noneMatch(c -> c.startsWith("HELO"));
    }

    @Test
    void ehloRefusedWith421IsASessionFailure() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.startsWith("EHLO") ? "421 4.7.0 slow down" : null);
        SessionFailure f = failure(open(s, settings()));
        assertThat(f.stage()).isEqualTo(SessionStage.EHLO);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.REJECTED);
        assertThat(s.commands).noneMatch(c -> c.startsWith("HELO"));
    }

    @Test
    void eachRecipientGetsItsOwnVerdictAndTheFinalReplyGoesToTheAccepted() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.startsWith("RCPT TO:<later@") ? "450 4.2.1 mailbox busy"
                : c.startsWith("RCPT TO:<nobody@") ? "550 5.1.1 no such user"
                : c.equals(".") ? "250 2.0.0 queued as 42" : null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("a@fake.test", "later@fake.test", "nobody@fake.test",
                "b@fake.test")));
        List<RecipientOutcome> r = done.recipients();
        assertThat(r.get(0)).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(((RecipientOutcome.Accepted) r.get(0)).finalReply().summary()).isEqualTo("250 2.0.0 queued as 42");
        assertThat(r.get(1)).isInstanceOf(RecipientOutcome.Deferred.class);
        assertThat(r.get(1).status()).hasToString("4.2.1");
        assertThat(((RecipientOutcome.Deferred) r.get(1)).stage()).isEqualTo(SessionStage.RCPT);
        assertThat(((RecipientOutcome.Deferred) r.get(1)).maybeDelivered()).isFalse();
        assertThat(r.get(2)).isInstanceOf(RecipientOutcome.Failed.class);
        assertThat(r.get(2).status()).hasToString("5.1.1");
        assertThat(r.get(2).detail()).contains("nobody@fake.test").contains("550 5.1.1 no such user");
        assertThat(r.get(3)).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(done.accepted()).hasSize(2);
        assertThat(s.messages).hasSize(1);
        assertThat(c.reusable()).isTrue();
    }

    @Test
    void aRefusedMailFromAppliesToEveryRecipientAndTheNextTransactionStartsWithRset() throws IOException {
        List<String> noPipelining = List.of("SIZE 10240000", "ENHANCEDSTATUSCODES");
        int[] mails = {0};
        FakeSmtpServer s = server(noPipelining, c -> c.startsWith("MAIL") && mails[0]++ == 0 ? "451 4.3.0 try later" : null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed first = completed(c.send(envelope("a@fake.test", "b@fake.test")));
        assertThat(first.recipients()).allSatisfy(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class);
            assertThat(((RecipientOutcome.Deferred) o).stage()).isEqualTo(SessionStage.MAIL);
            assertThat(o.status()).hasToString("4.3.0");
        });
        assertThat(s.commands("RCPT")).isEmpty(); // lock-step: no RCPT after a refused MAIL
        assertThat(c.reusable()).isTrue();
        TransactionResult.Completed second = completed(c.send(envelope("a@fake.test")));
        assertThat(second.accepted()).hasSize(1);
        assertThat(s.commands.subList(2, s.commands.size())).startsWith("RSET", "MAIL FROM:<sender@client.test> SIZE=" + MESSAGE.length);
    }

    @Test
    void aPermanentMailRefusalFailsEveryRecipientEvenWhenPipelined() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.startsWith("MAIL") ? "553 5.7.1 sender rejected"
                : c.startsWith("DATA") ? "554 5.5.1 no valid recipients" : null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients()).allSatisfy(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.7.1");
        });
        assertThat(s.messages).isEmpty();
        assertThat(c.reusable()).isTrue();
    }

    @Test
    void pipeliningSendsMailRcptAndDataInOneWrite() throws IOException {
        FakeSmtpServer s = server(FULL, c -> null);
        SmtpConnection c = connect(s);
        completed(c.send(envelope("a@fake.test", "b@fake.test")));
        // " +": more commands were already waiting when the server read this one.
        assertThat(s.commands("MAIL")).singleElement().asString().endsWith(" +");
        assertThat(s.commands("RCPT")).containsExactly("RCPT TO:<a@fake.test> +", "RCPT TO:<b@fake.test> +");
        assertThat(s.commands("DATA")).containsExactly("DATA");
    }

    @Test
    void withoutPipeliningEachCommandWaitsForItsReply() throws IOException {
        FakeSmtpServer s = server(List.of("8BITMIME"), c -> null);
        SmtpConnection c = connect(s);
        completed(c.send(envelope("a@fake.test", "b@fake.test")));
        assertThat(s.commands).containsSequence("MAIL FROM:<sender@client.test>", "RCPT TO:<a@fake.test>",
                "RCPT TO:<b@fake.test>", "DATA", ".");
    }

    @Test
    void aHangUpInTheMiddleOfTheContentDefersTheAcceptedRecipients() throws IOException {
        FakeSmtpServer s = FakeSmtpServer.hangingUpInData(List.of("PIPELINING", "8BITMIME"), 1000);
        open.add(s);
        SmtpConnection c = connect(s);
        // Much more than the socket buffers hold, so the client is still writing when the server leaves.
        OutboundEnvelope big = OutboundEnvelope.of("s@client.test", List.of(OutboundRecipient.of("a@fake.test")), new GeneratedContent(32 << 20, 7));
        TransactionResult.Completed done = completed(c.send(big));
        RecipientOutcome.Deferred d = (RecipientOutcome.Deferred) done.recipients().get(0);
        assertThat(d.stage()).isEqualTo(SessionStage.MESSAGE);
        assertThat(d.maybeDelivered()).isFalse();
        assertThat(d.status()).hasToString("4.4.2");
        assertThat(c.reusable()).isFalse();
    }

    /**
     * A server that refuses the message part-way (552 for its size, 554 for its content) and hangs up while the client
     * still writes: its reply is read after the failed write, as Postfix reads it, and decides. Taken for a lost
     * connection, the whole message went again at every retry for days, then bounced with 4.4.2 instead of the 554.
     */
    @Test
    void aRefusalSentPartWayThroughTheContentDecides() throws IOException {
        for (String refusal : List.of("554 5.6.0 message content rejected", "452 4.3.1 out of space for now")) {
            FakeSmtpServer s = FakeSmtpServer.hangingUpInData(List.of("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"), 20_000)
                    .replyingAtTheHangUp(refusal);
            open.add(s);
            SmtpConnection c = connect(s);
            OutboundEnvelope big = OutboundEnvelope.of("s@client.test", List.of(OutboundRecipient.of("a@fake.test"),
                    OutboundRecipient.of("b@fake.test")), new GeneratedContent(32 << 20, 7));
            TransactionResult.Completed done = completed(c.send(big));
            assertThat(done.recipients()).as(refusal).allSatisfy(o -> {
                assertThat(o.detail()).as(refusal).contains(refusal);
                if (refusal.startsWith("5")) {
                    RecipientOutcome.Failed f = (RecipientOutcome.Failed) o;
                    assertThat(f.reply()).map(dev.mxd.smtp.SmtpReply::summary).hasValue(refusal);
                    assertThat(f.stage()).isEqualTo(SessionStage.MESSAGE);
                    assertThat(f.status()).hasToString("5.6.0");
                } else {
                    RecipientOutcome.Deferred d = (RecipientOutcome.Deferred) o;
                    assertThat(d.reply()).map(dev.mxd.smtp.SmtpReply::summary).hasValue(refusal);
                    assertThat(d.stage()).isEqualTo(SessionStage.MESSAGE);
                    assertThat(d.maybeDelivered()).isFalse();
                }
            });
            assertThat(c.reusable()).isFalse();
        }
    }

    /** The same refusal part-way over TLS: the record the server sent before its reset is still read. */
    @Test
    void overTlsARefusalSentPartWayThroughTheContentDecidesToo(@TempDir Path dir) throws Exception {
        FakeSmtpServer s = FakeSmtpServer.hangingUpInData(List.of("PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES"), 20_000)
                .replyingAtTheHangUp("554 5.6.0 message content rejected").offeringTls(serverTls(dir));
        open.add(s);
        OpenResult r = open(s, settings().withTls(TlsPolicy.REQUIRE));
        assertThat(r).as("open").isInstanceOf(OpenResult.Ready.class);
        SmtpConnection c = ((OpenResult.Ready) r).connection();
        TransactionResult.Completed done = completed(c.send(OutboundEnvelope.of("s@client.test",
                List.of(OutboundRecipient.of("a@fake.test")), new GeneratedContent(32 << 20, 7))));
        assertThat(done.recipients().get(0)).isInstanceOf(RecipientOutcome.Failed.class);
        assertThat(done.recipients().get(0).status()).hasToString("5.6.0");
        assertThat(s.commands("STARTTLS")).hasSize(1);
    }

    @Test
    void noReplyAfterTheFinalDotMeansMaybeDelivered() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.equals(".") ? FakeSmtpServer.HANG_UP : null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients()).allSatisfy(o -> {
            RecipientOutcome.Deferred d = (RecipientOutcome.Deferred) o;
            assertThat(d.stage()).isEqualTo(SessionStage.FINAL_DOT);
            assertThat(d.maybeDelivered()).isTrue();
            assertThat(d.detail()).contains("may have been delivered");
        });
        assertThat(s.messages).hasSize(1);
        assertThat(c.reusable()).isFalse();
    }

    /**
     * A 354 (or any 1yz/3yz) to the final dot answers no final dot: the session is out of step and the server may
     * have kept the message. It was an ordinary deferral, sent to the next MX in the same attempt (a second copy),
     * on a connection still counted as reusable.
     */
    @Test
    void aReplyOfTheWrongKindToTheFinalDotMeansMaybeDeliveredAndEndsTheSession() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.equals(".") ? "354 go on" : null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients()).allSatisfy(o -> {
            RecipientOutcome.Deferred d = (RecipientOutcome.Deferred) o;
            assertThat(d.stage()).isEqualTo(SessionStage.FINAL_DOT);
            assertThat(d.maybeDelivered()).isTrue();
            assertThat(d.detail()).contains("354").contains("may have been delivered");
        });
        assertThat(c.reusable()).isFalse();
    }

    /**
     * A spooled text shorter than its envelope says (damaged, cut by hand): it went out as it was with a final dot,
     * the server said 250 and the recipients counted as delivered with part of their message. Now the session is
     * dropped without the dot (RFC 5321 §4.1.1.4: no partial message) and the recipients wait, as for a read error.
     */
    @Test
    void aSpooledTextShorterThanItsSizeNeverGoesOutWithAFinalDot() throws IOException {
        FakeSmtpServer s = server(FULL, c -> null);
        java.nio.file.Path text = java.nio.file.Files.createTempFile("mxd-short", ".txt");
        try {
            java.nio.file.Files.write(text, MESSAGE);
            SmtpConnection c = connect(s);
            OutboundEnvelope cut = OutboundEnvelope.of("sender@client.test", List.of(OutboundRecipient.of("b@fake.test")),
                    MessageContent.of(text, MESSAGE.length + 100));
            TransactionResult.Completed done = completed(c.send(cut));
            assertThat(done.recipients()).singleElement().isInstanceOfSatisfying(RecipientOutcome.Deferred.class, d -> {
                assertThat(d.maybeDelivered()).isFalse();
                assertThat(d.detail()).contains("could not read the spooled message").contains("ended after");
            });
            assertThat(c.reusable()).isFalse();
            assertThat(s.messages).as("no message reached the server").isEmpty();
        } finally {
            java.nio.file.Files.deleteIfExists(text);
        }
    }

    /** A spooled text that cannot be opened after the 354 (removed meanwhile) is the spool's failure, not a lost connection. */
    @Test
    void aSpooledTextThatCannotBeOpenedIsNoLostConnection() throws IOException {
        FakeSmtpServer s = server(FULL, c -> null);
        SmtpConnection c = connect(s);
        OutboundEnvelope gone = OutboundEnvelope.of("sender@client.test", List.of(OutboundRecipient.of("b@fake.test")),
                MessageContent.of(java.nio.file.Path.of("/nonexistent/mxd-spool/data/GONE"), 100));
        TransactionResult.Completed done = completed(c.send(gone));
        assertThat(done.recipients()).singleElement().isInstanceOfSatisfying(RecipientOutcome.Deferred.class, d -> {
            assertThat(d.maybeDelivered()).isFalse();
            assertThat(d.detail()).contains("could not read the spooled message").doesNotContain("lost the connection");
        });
        assertThat(s.messages).as("no message reached the server").isEmpty();
    }

    @Test
    void aLostConnectionBeforeTheContentIsASessionFailure() throws IOException {
        FakeSmtpServer s = server(List.of("SIZE 1000000"), c -> c.startsWith("RCPT") ? FakeSmtpServer.HANG_UP : null);
        SmtpConnection c = connect(s);
        TransactionResult r = c.send(envelope("a@fake.test"));
        assertThat(r).isInstanceOf(TransactionResult.Failed.class);
        SessionFailure f = ((TransactionResult.Failed) r).failure();
        assertThat(f.stage()).isEqualTo(SessionStage.RCPT);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.CLOSED);
        assertThat(c.reusable()).isFalse();
        assertThatThrownBy(() -> c.send(envelope("a@fake.test"))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aSilentRcptReplyTimesOut() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.startsWith("RCPT") ? FakeSmtpServer.SILENCE : null);
        ClientSettings quick = settings().withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))
                .withCommand(Duration.ofMillis(300)));
        OpenResult r = open(s, quick);
        SmtpConnection c = ((OpenResult.Ready) r).connection();
        TransactionResult t = c.send(envelope("a@fake.test"));
        SessionFailure f = ((TransactionResult.Failed) t).failure();
        assertThat(f.stage()).isEqualTo(SessionStage.RCPT);
        assertThat(f.cause()).isEqualTo(SessionFailure.Cause.TIMEOUT);
    }

    /**
     * RFC 5321 §4.5.3.2.5: a data block must be taken within its limit. A server that stops reading after its 354
     * fills the TCP window and the client's write blocks; the write's limit closes the connection and the
     * recipient is deferred (4.4.2) soon after the limit, not at some later read's.
     */
    @Test
    @Timeout(60)
    void aServerThatStopsReadingTheTextTimesOutAtTheDataBlockLimit() throws IOException {
        FakeSmtpServer s = server(List.of("PIPELINING", "8BITMIME"), c -> c.equals("DATA") ? FakeSmtpServer.STOP_READING_IN_DATA : null);
        Duration block = Duration.ofMillis(600);
        Duration rest = Duration.ofSeconds(30);
        ClientSettings quick = settings().withTimeouts(new ClientSettings.Timeouts(rest, rest, rest, rest, rest, rest, block, rest));
        SmtpConnection c = ((OpenResult.Ready) open(s, quick)).connection();
        OutboundEnvelope big = OutboundEnvelope.of("sender@client.test", List.of(OutboundRecipient.of("a@fake.test")),
                MessageContent.of(textLargerThanTheSocketBuffers()));
        long start = System.nanoTime();
        TransactionResult t = c.send(big);
        assertDeferredAtTheBlockLimit(t, (System.nanoTime() - start) / 1_000_000);
        assertThat(c.reusable()).isFalse();
    }

    /**
     * The same over TLS: the TCP connection beneath is closed, since closing the TLS socket waits for the lock the
     * stuck write holds (and would hold the one timer thread of every connection's limits with it).
     */
    @Test
    @Timeout(60)
    void overTlsAServerThatStopsReadingTheTextTimesOutToo(@TempDir Path dir) throws Exception {
        SSLContext tls = serverTls(dir);
        FakeSmtpServer s = server(List.of("PIPELINING", "STARTTLS"), c -> c.equals("DATA") ? FakeSmtpServer.STOP_READING_IN_DATA : null)
                .offeringTls(tls);
        Duration block = Duration.ofMillis(600);
        Duration rest = Duration.ofSeconds(30);
        ClientSettings quick = settings().withTimeouts(new ClientSettings.Timeouts(rest, rest, rest, rest, rest, rest, block, rest));
        OpenResult r = open(s, quick);
        assertThat(r).as("open").isInstanceOf(OpenResult.Ready.class);
        SmtpConnection c = ((OpenResult.Ready) r).connection();
        OutboundEnvelope big = OutboundEnvelope.of("sender@client.test", List.of(OutboundRecipient.of("a@fake.test")),
                MessageContent.of(textLargerThanTheSocketBuffers()));
        long start = System.nanoTime();
        TransactionResult t = c.send(big);
        assertDeferredAtTheBlockLimit(t, (System.nanoTime() - start) / 1_000_000);
        assertThat(s.commands("STARTTLS")).as("the session went through STARTTLS").hasSize(1);
        assertThat(s.commands("EHLO")).as("and said EHLO again over TLS").hasSize(2);
    }

    /**
     * SNI names the MX host, or the name the certificate check asks for: DANE's TLSA base domain
     * (RFC 7672 §8.1), the expanded name of a secure alias, so a server that picks its certificate
     * by SNI presents the one its TLSA records describe.
     */
    @Test
    void sniNamesTheHostOrTheNameTheCheckAsksFor(@TempDir Path dir) throws Exception {
        SSLContext tls = serverTls(dir);
        FakeSmtpServer s = server(List.of("PIPELINING", "STARTTLS"), c -> null).offeringTls(tls);
        assertThat(open(s, settings().withTls(TlsPolicy.REQUIRE))).isInstanceOf(OpenResult.Ready.class);
        assertThat(s.serverNames).containsExactly("mx.fake.test");
        ServerAuthentication toBase = new ServerAuthentication() {
            @Override
            public String method() {
                return "DANE";
            }

            @Override
            public String verify(List<java.security.cert.X509Certificate> chain, String host) {
                return "any";
            }

            @Override
            public java.util.Optional<String> serverName() {
                return java.util.Optional.of("mx.provider.test");
            }
        };
        assertThat(open(s, settings().withTls(TlsPolicy.REQUIRE).withAuthentication(java.util.Optional.of(toBase))))
                .isInstanceOf(OpenResult.Ready.class);
        assertThat(s.serverNames).containsExactly("mx.fake.test", "mx.provider.test");
    }

    /**
     * A server that completes the TLS handshake and then drops the session at the first read (in
     * TLS 1.3 the client's handshake ends before the server has judged it): a TLS failure, which
     * the caller may retry in plain text under opportunistic TLS, not a failed host.
     */
    @Test
    void aTlsSessionThatFailsAtTheFirstEhloIsATlsFailure(@TempDir Path dir) throws Exception {
        SSLContext tls = serverTls(dir);
        AtomicInteger ehlos = new AtomicInteger();
        FakeSmtpServer s = server(List.of("PIPELINING", "STARTTLS"),
                c -> c.startsWith("EHLO") && ehlos.incrementAndGet() == 2 ? FakeSmtpServer.HANG_UP : null).offeringTls(tls);
        OpenResult r = open(s, settings().withTls(TlsPolicy.OPPORTUNISTIC));
        assertThat(r).isInstanceOf(OpenResult.Failed.class);
        SessionFailure f = ((OpenResult.Failed) r).failure();
        assertThat(f.tlsFailed()).isTrue();
        assertThat(f.detail()).contains("failed at the EHLO over TLS").contains("retry this host without TLS");
        // A policy that requires TLS keeps it: the same hang-up is the host's failure at EHLO, no plain-text retry.
        ehlos.set(0);
        SessionFailure required = ((OpenResult.Failed) open(s, settings().withTls(TlsPolicy.REQUIRE))).failure();
        assertThat(required.tlsFailed()).isFalse();
        assertThat(required.stage()).isEqualTo(SessionStage.EHLO);
    }

    /** Text that cannot fit in loopback's socket buffers, so a server that stops reading makes the client's write block. */
    private static byte[] textLargerThanTheSocketBuffers() {
        byte[] text = new byte[48 << 20];
        java.util.Arrays.fill(text, (byte) 'x');
        for (int i = 76; i < text.length; i += 78) {
            text[i] = '\r';
            text[i + 1] = '\n';
        }
        return text;
    }

    private static void assertDeferredAtTheBlockLimit(TransactionResult t, long millis) {
        RecipientOutcome.Deferred d = (RecipientOutcome.Deferred) completed(t).recipients().get(0);
        assertThat(d.stage()).isEqualTo(SessionStage.MESSAGE);
        assertThat(d.status()).hasToString("4.4.2");
        assertThat(d.detail()).contains("took no data for 600 ms");
        assertThat(d.maybeDelivered()).as("the text never ended: not delivered").isFalse();
        assertThat(millis).as("ends about the limit after the window filled").isBetween(500L, 15_000L);
    }

    @Test
    void a421InThePipelineStandsForTheRepliesThatDoNotCome() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.startsWith("RCPT TO:<b@") ? "421 4.4.5 shutting down\r\n" + FakeSmtpServer.HANG_UP : null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("a@fake.test", "b@fake.test", "c@fake.test")));
        assertThat(done.recipients()).allSatisfy(o -> assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class));
        assertThat(((RecipientOutcome.Deferred) done.recipients().get(2)).reply()).get()
                .extracting(rep -> rep.code()).isEqualTo(421);
        // a, accepted, waits on a DATA that was never answered: its reason says where the 421 came, not "refused DATA"
        assertThat(done.recipients().get(0).detail()).contains("closed the session at rcpt, before DATA: 421 4.4.5 shutting down")
                .doesNotContain("refused DATA");
        assertThat(s.messages).isEmpty();
        assertThat(c.reusable()).isFalse();
    }

    @Test
    void aMessageOverTheServersSizeLimitIsRefusedHereWith534() throws IOException {
        FakeSmtpServer s = server(List.of("PIPELINING", "SIZE 10"), c -> null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("a@fake.test")));
        RecipientOutcome.Failed f = (RecipientOutcome.Failed) done.recipients().get(0);
        assertThat(f.status()).hasToString("5.3.4");
        assertThat(f.reply()).isEmpty();
        assertThat(f.detail()).contains(MESSAGE.length + " bytes").contains("10 bytes");
        assertThat(s.commands("MAIL")).isEmpty();
        assertThat(c.reusable()).isTrue();
    }

    @Test
    void aUtf8LocalPartToAServerWithoutSmtputf8FailsWith567AloneAndTheOthersGo() throws IOException {
        FakeSmtpServer s = server(List.of("PIPELINING", "8BITMIME"), c -> null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("j\u00fcrgen@fake.test", "ascii@fake.test")));
        assertThat(done.recipients().get(0)).isInstanceOf(RecipientOutcome.Failed.class);
        assertThat(done.recipients().get(0).status()).hasToString("5.6.7");
        assertThat(done.recipients().get(1)).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(s.commands("RCPT")).hasSize(1).allSatisfy(r -> assertThat(r).startsWith("RCPT TO:<ascii@fake.test>"));
        assertThat(s.commands("MAIL").get(0)).doesNotContain("SMTPUTF8");
    }

    /**
     * The 5.6.7 of a recipient left out for want of SMTPUTF8 is decided before MAIL: a connection
     * that drops at MAIL must not turn it into a retry that bounces only at expiry. The result
     * stays Failed, so the caller still tries the next address for the others.
     */
    @Test
    void aRecipientLeftOutForWantOfSmtputf8KeepsIts567WhenTheSessionBreaksAtMail() throws IOException {
        FakeSmtpServer s = server(List.of("8BITMIME"), c -> c.startsWith("MAIL") ? FakeSmtpServer.HANG_UP : null);
        SmtpConnection c = connect(s);
        TransactionResult r = c.send(envelope("j\u00fcrgen@fake.test", "ascii@fake.test"));
        assertThat(r).isInstanceOfSatisfying(TransactionResult.Failed.class, f -> {
            assertThat(f.failure().stage()).isEqualTo(SessionStage.MAIL);
            assertThat(f.settled()).containsOnlyKeys(0);
            assertThat(f.settled().get(0).recipient().address()).isEqualTo("j\u00fcrgen@fake.test");
            assertThat(f.settled().get(0).status()).hasToString("5.6.7");
            assertThat(f.settled().get(0).detail()).contains("does not offer SMTPUTF8");
        });
        assertThat(s.commands("RCPT")).allSatisfy(l -> assertThat(l).doesNotContain("j\u00fcrgen"));
    }

    @Test
    void smtputf8IsAskedForWhenOfferedAndNeeded() throws IOException {
        FakeSmtpServer s = server(FULL, c -> null);
        SmtpConnection c = connect(s);
        assertThat(completed(c.send(envelope("j\u00fcrgen@fake.test"))).accepted()).hasSize(1);
        assertThat(s.commands("MAIL").get(0)).contains(" SMTPUTF8");
        assertThat(s.commands("RCPT").get(0)).startsWith("RCPT TO:<j\u00fcrgen@fake.test>");
    }

    @Test
    void dsnParametersGoOnlyToServersThatOfferDsn() throws IOException {
        OutboundRecipient r = new OutboundRecipient("a@fake.test", Set.of(DsnNotify.FAILURE, DsnNotify.SUCCESS),
                Optional.of("orig+1@fake.test"));
        OutboundEnvelope e = OutboundEnvelope.of("s@client.test", List.of(r), MessageContent.of(MESSAGE))
                .withDsn(Optional.of(DsnReturn.HDRS), Optional.of("id=1 x"));
        FakeSmtpServer withDsn = server(FULL, c -> null);
        completed(connect(withDsn).send(e));
        assertThat(withDsn.commands("MAIL").get(0)).contains(" RET=HDRS ENVID=id+3D1+20x");
        assertThat(withDsn.commands("RCPT").get(0)).startsWith("RCPT TO:<a@fake.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2B1@fake.test");
        FakeSmtpServer without = server(List.of("PIPELINING", "SIZE 1000"), c -> null);
        completed(connect(without).send(e));
        assertThat(without.commands("MAIL").get(0)).doesNotContain("RET=").doesNotContain("ENVID=");
        assertThat(without.commands("RCPT").get(0)).doesNotContain("NOTIFY").doesNotContain("ORCPT");
        // an ENVID taken over RFC 3461's 100 characters (as Postfix and Exim take them) is not passed on: a next hop that
        // holds to the limit would refuse the MAIL; RET still goes
        FakeSmtpServer longId = server(FULL, c -> null);
        completed(connect(longId).send(OutboundEnvelope.of("s@client.test", List.of(r), MessageContent.of(MESSAGE))
                .withDsn(Optional.of(DsnReturn.HDRS), Optional.of("E".repeat(101)))));
        assertThat(longId.commands("MAIL").get(0)).contains(" RET=HDRS").doesNotContain("ENVID=");
    }

    /** An ORCPT of another type than rfc822 goes with its type, both in xtext. */
    @Test
    void orcptOfAnotherTypeKeepsItsType() throws IOException {
        OutboundRecipient r = new OutboundRecipient("a@fake.test", Set.of(DsnNotify.FAILURE), Optional.of("c=us;a= ;s=Smith"), "x400");
        FakeSmtpServer s = server(FULL, c -> null);
        completed(connect(s).send(OutboundEnvelope.of("s@client.test", List.of(r), MessageContent.of(MESSAGE))));
        assertThat(s.commands("RCPT")).singleElement().asString().startsWith("RCPT TO:<a@fake.test> NOTIFY=FAILURE ORCPT=x400;c+3Dus;a+3D+20;s+3DSmith");
    }

    /** ORCPT's value: an atom type as it is, a UTF-8 mailbox as RFC 6533's ASCII utf-8 form, anything else in xtext. */
    @Test
    void orcptValues() {
        assertThat(SmtpConnection.originalRecipient("a+b", "x y")).isEqualTo("a+b;x+20y");
        assertThat(SmtpConnection.originalRecipient("RFC822", "j\u00fcrgen+1@x.test")).isEqualTo("utf-8;j\\x{FC}rgen\\x{2B}1@x.test");
        assertThat(SmtpConnection.originalRecipient("utf-8", "plain@x.test")).isEqualTo("rfc822;plain@x.test");
        assertThat(SmtpConnection.originalRecipient("bad type=", "x")).isEqualTo("bad+20type+3D;x");
    }

    /** An ORCPT with a line break or space in it (an envelope from an older spool) goes on as xtext, one command line. */
    @Test
    void orcptWithALineBreakGoesOnXtextEncoded() throws IOException {
        OutboundRecipient r = new OutboundRecipient("a@fake.test", Set.of(DsnNotify.FAILURE), Optional.of("a@fake.test\r\nAction: delivered"));
        OutboundEnvelope e = OutboundEnvelope.of("s@client.test", List.of(r), MessageContent.of(MESSAGE))
                .withDsn(Optional.empty(), Optional.of("env 1+2=3"));
        FakeSmtpServer s = server(FULL, c -> null);
        assertThat(completed(connect(s).send(e)).accepted()).hasSize(1);
        assertThat(s.commands("MAIL").get(0)).contains(" ENVID=env+201+2B2+3D3");
        assertThat(s.commands("RCPT")).singleElement().asString() // " +": pipelined after MAIL
                .startsWith("RCPT TO:<a@fake.test> NOTIFY=FAILURE ORCPT=rfc822;a@fake.test+0D+0AAction:+20delivered");
    }

    @Test
    void eightBitContentAsksForBody8bitmimeOrIsConvertedTo7Bit() throws IOException {
        byte[] text = "Subject: 8 bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nK\u00f6ln = 5\r\n"
                .getBytes(StandardCharsets.UTF_8);
        OutboundEnvelope e = OutboundEnvelope.of("sender@client.test", List.of(OutboundRecipient.of("a@fake.test")), MessageContent.of(text))
                .withEightBit(true);
        FakeSmtpServer with = server(FULL, c -> null);
        assertThat(completed(connect(with).send(e)).accepted()).hasSize(1);
        assertThat(with.commands("MAIL").get(0)).contains(" BODY=8BITMIME");
        assertThat(with.messages.get(0)).isEqualTo(text);
        // RFC 6152 §3: no BODY=8BITMIME where it is not offered, and the text converted, its SIZE= the converted size.
        FakeSmtpServer without = server(List.of("PIPELINING", "SIZE 1000"), c -> null);
        assertThat(completed(connect(without).send(e)).accepted()).hasSize(1);
        String sent = new String(without.messages.get(0), StandardCharsets.US_ASCII);
        assertThat(sent).isEqualTo("Subject: 8 bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\nK=C3=B6ln =3D 5\r\n");
        assertThat(without.commands("MAIL").get(0)).doesNotContain("BODY=").contains(" SIZE=" + sent.length());
    }

    /** The converted size counts against the server's SIZE: a message that fits only in 8 bit is refused unsent. */
    @Test
    void theConvertedSizeIsWhatMustFit() throws IOException {
        byte[] text = ("Subject: s\r\n\r\n" + "\u00e9".repeat(100) + "\r\n").getBytes(StandardCharsets.UTF_8);
        OutboundEnvelope e = OutboundEnvelope.of("sender@client.test", List.of(OutboundRecipient.of("a@fake.test")), MessageContent.of(text))
                .withEightBit(true);
        FakeSmtpServer small = server(List.of("PIPELINING", "SIZE " + (text.length + 100)), c -> null);
        RecipientOutcome o = completed(connect(small).send(e)).recipients().get(0);
        assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
        assertThat(o.detail()).contains("larger than the " + (text.length + 100) + " bytes");
        assertThat(small.commands("MAIL")).isEmpty();
    }

    /**
     * A server that refuses for good and then hangs up (Exim's drop ACL, a Postfix past its error
     * limit): the refusal it sent stands, as Postfix records each reply as it comes, and only the
     * others are deferred for the next address. Before, the lost connection deferred everyone and
     * the refused recipient bounced only at expiry, five days later, with "connection closed".
     */
    @Test
    void aRefusalBeforeTheServerHangsUpStands() throws IOException {
        for (List<String> ehlo : List.of(FULL, List.of("SIZE 1000000"))) { // pipelined, then one by one
            FakeSmtpServer s = server(ehlo, c -> c.startsWith("RCPT TO:<b@") ? "550 5.1.1 no such user\r\n" + FakeSmtpServer.HANG_UP : null);
            List<RecipientOutcome> out = completed(connect(s).send(envelope("a@fake.test", "b@fake.test", "c@fake.test"))).recipients();
            assertThat(out.get(1)).as("%s", ehlo).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(out.get(1).status()).hasToString("5.1.1");
            assertThat(out.get(1).detail()).contains("550 5.1.1 no such user");
            assertThat(List.of(out.get(0), out.get(2))).allSatisfy(o -> {
                assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class);
                assertThat(((RecipientOutcome.Deferred) o).maybeDelivered()).isFalse();
            });
            assertThat(s.messages).isEmpty();
        }
        FakeSmtpServer mail = server(FULL, c -> c.startsWith("MAIL") ? "554 5.7.1 you are blocked\r\n" + FakeSmtpServer.HANG_UP : null);
        assertThat(completed(connect(mail).send(envelope("a@fake.test", "b@fake.test"))).recipients()).allSatisfy(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.7.1");
        });
        // A RCPT refused after a MAIL the server did not take (503, pipelined) says nothing of the recipient.
        FakeSmtpServer soft = server(FULL, c -> c.startsWith("MAIL") ? "451 4.3.0 later" : c.startsWith("RCPT")
                ? "503 5.5.1 need MAIL\r\n" + FakeSmtpServer.HANG_UP : null);
        assertThat(connect(soft).send(envelope("a@fake.test"))).isInstanceOf(TransactionResult.Failed.class);
        // On a reused connection a refused MAIL and a hang-up may be the session's own limit: the session
        // failed, so that the caller opens a fresh connection, rather than a bounce for every recipient.
        AtomicInteger mails = new AtomicInteger();
        FakeSmtpServer limited = server(FULL, c -> c.startsWith("MAIL") && mails.incrementAndGet() == 2
                ? "550 5.7.0 too many messages in this session\r\n" + FakeSmtpServer.HANG_UP : null);
        SmtpConnection reused = connect(limited);
        assertThat(completed(reused.send(envelope("a@fake.test"))).accepted()).hasSize(1);
        assertThat(reused.send(envelope("b@fake.test"))).isInstanceOf(TransactionResult.Failed.class);
    }

    /**
     * Every RCPT refused, yet the pipelined DATA got a 354 (RFC 2920 §3.1 expects such servers): the
     * lone dot is sent, and a server that hangs up instead of answering it leaves the refusals as they
     * were. They were thrown away, and the recipients went to the next MX, or were deferred until
     * their queue lifetime ended, instead of failing 5.1.1 at once (review finding).
     */
    @Test
    void refusalsStandWhenTheServerHangsUpAfterTheLoneDot() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.startsWith("RCPT") ? "550 5.1.1 no such user"
                : c.equals(".") ? FakeSmtpServer.HANG_UP : null);
        SmtpConnection c = connect(s);
        TransactionResult r = c.send(envelope("a@fake.test", "b@fake.test"));
        assertThat(completed(r).recipients()).hasSize(2).allSatisfy(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.1.1");
        });
        assertThat(c.reusable()).isFalse();
    }

    /** A 3yz where none belongs (354 to a RCPT) defers that recipient; it is no verdict and no crash. */
    @Test
    void aThreeHundredReplyToRcptDefers() throws IOException {
        FakeSmtpServer s = server(List.of("ENHANCEDSTATUSCODES"), c -> c.startsWith("RCPT") ? "354 go ahead" : null);
        RecipientOutcome o = completed(connect(s).send(envelope("a@fake.test"))).recipients().get(0);
        assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class);
        assertThat(o.status()).hasToString("4.0.0");
    }

    /**
     * A reply to the final dot as some servers write it (an empty line and a line without a code
     * inside, a line of 3,000 octets) is the server's acceptance: the recipient is delivered, not
     * deferred as "may have been delivered" and sent again at the next retry.
     */
    @Test
    void anOddlyWrittenAcceptanceAfterTheDotIsDelivered() throws IOException {
        FakeSmtpServer s = server(FULL, c -> c.equals(".") ? "250-2.0.0 queued\r\n\r\nthanks\r\n250 " + "x".repeat(3000) : null);
        RecipientOutcome o = completed(connect(s).send(envelope("a@fake.test"))).recipients().get(0);
        assertThat(o).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(s.messages).hasSize(1);
    }

    /**
     * After the final dot, a reply whose lines change code is read as Postfix reads it, the last line deciding, and
     * a 70 KB reply line is cut, not refused: taken for malformed, each left the message "maybe delivered" and sent
     * again at every retry, for the queue's lifetime. Such a connection is not used again.
     */
    @Test
    void aFinalReplyWithMixedCodesOrAHugeLineDecidesByItsLastLine() throws IOException {
        record Case(String reply, Class<?> outcome, String status) {}
        for (Case k : List.of(new Case("250-2.0.0 Ok: queued as ABC\r\n550 5.7.1 rejected", RecipientOutcome.Failed.class, "5.7.1"),
                new Case("550-5.1.1 looks bad\r\n554-5.7.1 policy\r\n554 5.7.1 refused", RecipientOutcome.Failed.class, "5.7.1"),
                new Case("550-5.7.1 looks bad\r\n250 2.0.0 taken all the same", RecipientOutcome.Accepted.class, "2.0.0"),
                new Case("250 2.0.0 " + "x".repeat(70_000), RecipientOutcome.Accepted.class, "2.0.0"))) {
            FakeSmtpServer s = server(FULL, c -> c.equals(".") ? k.reply() : null);
            SmtpConnection c = connect(s);
            RecipientOutcome o = completed(c.send(envelope("a@fake.test"))).recipients().get(0);
            String name = k.reply().substring(0, 20);
            assertThat(o).as(name).isInstanceOf(k.outcome());
            // the status and the words quoted come from the lines that decide, not from a line saying otherwise
            assertThat(o.status()).as(name).hasToString(k.status());
            assertThat(o.detail()).as(name).doesNotContain("queued as ABC").doesNotContain("looks bad");
            assertThat(c.reusable()).as(name).isEqualTo(k.reply().length() > 60_000);
        }
        // before the dot a changed code is still malformed: in a pipelined batch it would shift every reply after it
        FakeSmtpServer s = server(FULL, c -> c.startsWith("RCPT") ? "250-ok\r\n550 no" : null);
        assertThat(connect(s).send(envelope("a@fake.test"))).isInstanceOf(TransactionResult.Failed.class);
        assertThat(s.messages).isEmpty();
    }

    @Test
    void contentIsDotStuffedWithCrLfOnTheWire() throws IOException {
        FakeSmtpServer s = server(FULL, c -> null);
        byte[] content = "Subject: dots\n\n.leading\n..two\nlast line without end".getBytes(StandardCharsets.US_ASCII);
        completed(connect(s).send(OutboundEnvelope.of("s@client.test", List.of(OutboundRecipient.of("a@fake.test")), MessageContent.of(content))));
        assertThat(new String(s.messages.get(0), StandardCharsets.US_ASCII))
                .isEqualTo("Subject: dots\r\n\r\n..leading\r\n...two\r\nlast line without end\r\n");
    }

    @Test
    void oneConnectionCarriesSeveralMessagesAndSaysQuitAtTheEnd() throws IOException {
        FakeSmtpServer s = server(FULL, c -> null);
        SmtpConnection c = connect(s);
        for (int i = 0; i < 3; i++) {
            assertThat(completed(c.send(envelope("r" + i + "@fake.test"))).accepted()).hasSize(1);
            assertThat(c.reusable()).isTrue();
        }
        c.close();
        assertThat(s.messages).hasSize(3);
        assertThat(s.commands).noneMatch(cmd -> cmd.startsWith("RSET")); // a finished transaction needs none
        assertThat(s.commands.get(s.commands.size() - 1)).isEqualTo("QUIT");
        assertThat(c.reusable()).isFalse();
        assertThat(c.transactions()).isEqualTo(3);
    }

    @Test
    void requiredTlsWithoutStarttlsIsASessionFailure() throws IOException {
        FakeSmtpServer s = server(List.of("PIPELINING"), c -> null);
        SessionFailure f = failure(open(s, settings().withTls(TlsPolicy.REQUIRE)));
        assertThat(f.stage()).isEqualTo(SessionStage.STARTTLS);
        assertThat(f.detail()).contains("does not offer STARTTLS");
    }

    @Test
    void opportunisticTlsGoesOnInPlainTextWhenStarttlsIsRefused() throws IOException {
        FakeSmtpServer s = server(List.of("PIPELINING", "STARTTLS"), c -> null); // answers STARTTLS with 454
        SmtpConnection c = connect(s);
        assertThat(c.tlsProtocol()).isEmpty();
        assertThat(completed(c.send(envelope("a@fake.test"))).accepted()).hasSize(1);
    }

    @Test
    void aBrokenTlsHandshakeIsItsOwnFailureSoTheHostCanBeRetriedWithoutTls() throws IOException {
        FakeSmtpServer s = server(List.of("STARTTLS"), c -> c.equals("STARTTLS") ? "220 2.0.0 go ahead\r\nthis is not TLS" : null);
        SessionFailure f = failure(open(s, settings()));
        assertThat(f.tlsFailed()).isTrue();
        assertThat(f.stage()).isEqualTo(SessionStage.TLS_HANDSHAKE);
        assertThat(f.detail()).contains("retry this host without TLS");
        // The same host without TLS takes the mail.
        OpenResult plain = open(s, settings().withTls(TlsPolicy.NONE));
        assertThat(plain).isInstanceOf(OpenResult.Ready.class);
        assertThat(s.commands("STARTTLS")).hasSize(1);
    }

    // A message received with SMTPUTF8 going to a server without it (RFC 6531 §3.2, §3.4): sent without the
    // parameter when nothing in it needs SMTPUTF8, refused whole when its sender or a header field does, and
    // per recipient when only some addresses have no ASCII form.

    private static final List<String> NO_SMTPUTF8 = List.of("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES");

    /** Received with SMTPUTF8 (the flag), as mxd's delivery builds it from the spooled envelope. */
    private static OutboundEnvelope utf8(String sender, String text, String... rcpts) {
        return new OutboundEnvelope(sender, List.of(rcpts).stream().map(OutboundRecipient::of).toList(), false, true,
                Optional.empty(), Optional.empty(), MessageContent.of(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void anAsciiMessageReceivedWithSmtputf8GoesWithoutTheParameter() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test",
                "Subject: plain\r\n\r\nbody \u00e9t\u00e9 in UTF-8 is 8BITMIME's business\r\n", "x@fake.test", "y@fake.test")));
        assertThat(done.accepted()).hasSize(2);
        assertThat(s.commands("MAIL").get(0)).isEqualTo("MAIL FROM:<a@client.test> +").doesNotContain("SMTPUTF8");
        assertThat(s.messages).hasSize(1);
    }

    @Test
    void aNonAsciiHeaderFieldFailsEveryRecipientWith567() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test",
                "From: a@client.test\r\nSubject: gr\u00fc\u00dfe\r\n\r\nbody\r\n", "x@fake.test", "y@fake.test")));
        assertThat(done.recipients()).hasSize(2).allSatisfy(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.6.7");
            assertThat(o.detail()).contains("Subject header field");
        });
        assertThat(s.commands("MAIL")).isEmpty();
    }

    /**
     * A lone recipient whose own address has no ASCII form is failed for its address, though the header names it too
     * (the trace field's "for <...>"): the reason blamed the Received field, mxd's own.
     */
    @Test
    void aRecipientThatCannotGoIsFailedForItsAddressBeforeTheHeaderIsRead() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test",
                "Received: from x by y for <j\u00fcrgen@fake.test>; Mon, 7 Dec 2026 10:00:00 +0000\r\nSubject: s\r\n\r\nbody\r\n",
                "j\u00fcrgen@fake.test")));
        assertThat(done.recipients()).singleElement().satisfies(o -> {
            assertThat(o.status()).hasToString("5.6.7");
            assertThat(o.detail()).contains("recipient address <j\u00fcrgen@fake.test> has a non-ASCII local part")
                    .doesNotContain("Received");
        });
        assertThat(s.commands("MAIL")).isEmpty();
    }

    @Test
    void aFoldedNonAsciiContinuationCountsForItsField() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test",
                "Subject: long\n and \u00fc folded\nX: y\n\nbody\n", "x@fake.test")));
        assertThat(done.recipients().get(0).detail()).contains("Subject header field");
        assertThat(s.commands("MAIL")).isEmpty();
    }

    @Test
    void aNonAsciiSenderFailsEveryRecipientWith567() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
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
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        completed(connect(s).send(utf8("a@b\u00fccher.test", "Subject: plain\r\n\r\nbody\r\n", "x@fake.test")));
        assertThat(s.commands("MAIL").get(0)).startsWith("MAIL FROM:<a@xn--bcher-kva.test>");
    }

    @Test
    void onlyTheRecipientsWithANonAsciiLocalPartFailAndKeepTheirPlace() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        OutboundEnvelope e = utf8("a@client.test", "Subject: plain\r\n\r\nbody\r\n", "x@fake.test", "\u7528\u6237@fake.test",
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
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test", "Subject: plain\r\n\r\nbody\r\n",
                "user@b\u00fccher.test")));
        assertThat(done.accepted()).singleElement().satisfies(a -> assertThat(a.recipient().address()).isEqualTo("user@b\u00fccher.test"));
        assertThat(s.commands("RCPT").get(0)).startsWith("RCPT TO:<user@xn--bcher-kva.test>");
    }

    @Test
    void aDomainIsRewrittenInItsIdna2008ALabels() throws IOException {
        assertThat(AsciiTransaction.ascii("user@fa\u00df.test")).contains("user@xn--fa-hia.test"); // IDNA2003 said fass.test
        assertThat(AsciiTransaction.ascii("user@B\u00fccher.test")).contains("user@xn--bcher-kva.test");
        assertThat(AsciiTransaction.ascii("\"a@b\"@b\u00fccher.test")).contains("\"a@b\"@xn--bcher-kva.test");
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        TransactionResult.Completed done = completed(connect(s).send(utf8("a@client.test", "Subject: plain\r\n\r\nbody\r\n",
                "user@\uE000x.test", "x@fa\u00df.test")));
        assertThat(done.recipients().get(0)).as("a private-use character: no A-label form").isInstanceOf(RecipientOutcome.Failed.class);
        assertThat(done.recipients().get(0).detail()).contains("no A-label form");
        assertThat(done.recipients().get(1)).isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(s.commands("RCPT")).singleElement().satisfies(c -> assertThat(c).startsWith("RCPT TO:<x@xn--fa-hia.test>"));
    }

    @Test
    void anUnreadableSpoolFileDefersEveryRecipientWhenTheHeaderMustBeRead() throws IOException {
        FakeSmtpServer s = server(NO_SMTPUTF8, c -> null);
        MessageContent gone = MessageContent.of(java.nio.file.Path.of("/nonexistent/mxd/spool/text"), 100);
        OutboundEnvelope e = new OutboundEnvelope("a@client.test", List.of(OutboundRecipient.of("x@fake.test")), false, true,
                Optional.empty(), Optional.empty(), gone);
        TransactionResult.Completed done = completed(connect(s).send(e));
        assertThat(done.recipients()).singleElement().satisfies(o -> {
            assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class);
            assertThat(o.status()).hasToString("4.3.0");
            assertThat(o.detail()).contains("header section");
        });
        assertThat(s.commands("MAIL")).isEmpty();
    }

    @Test
    void aServerWithSmtputf8GetsEverythingAsBefore() throws IOException {
        FakeSmtpServer s = server(List.of("PIPELINING", "8BITMIME", "SMTPUTF8"), c -> null);
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

    // RFC 5321 §4.5.3.1.10: a server may take some RCPTs of a transaction and answer 452 "too many
    // recipients" to the others; those go again at once in a new transaction on the same connection.

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
        return server(ehlo, responder);
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

    /** RFC 5321 §4.5.3.1.10: an older server's 552 5.5.3 for too many recipients is temporary; another 552 refuses. */
    @Test
    void a552TooManyRecipientsIsTemporaryAndSentAgain() throws IOException {
        FakeSmtpServer s = onePerTransaction(List.of("PIPELINING", "ENHANCEDSTATUSCODES"), "552 5.5.3 Too many recipients");
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.accepted()).hasSize(2);
        assertThat(s.messages).hasSize(2);
        FakeSmtpServer none = server(List.of("PIPELINING", "ENHANCEDSTATUSCODES"),
                line -> line.startsWith("RCPT") ? "552 5.5.3 Too many recipients" : null);
        RecipientOutcome o = completed(connect(none).send(envelope("a@fake.test"))).recipients().get(0);
        assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class);
        assertThat(o.status()).hasToString("4.5.3");
        FakeSmtpServer full = server(List.of("PIPELINING", "ENHANCEDSTATUSCODES"),
                line -> line.startsWith("RCPT") ? "552 5.2.2 Mailbox full" : null);
        assertThat(completed(connect(full).send(envelope("a@fake.test"))).recipients().get(0)).isInstanceOf(RecipientOutcome.Failed.class);
        // the RFC 821 server the RFC means sends no enhanced code: its words say it (the second recipient was bounced 5.0.0)
        FakeSmtpServer old = onePerTransaction(List.of("PIPELINING"), "552 Too many recipients");
        TransactionResult.Completed both = completed(connect(old).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(both.accepted()).hasSize(2);
        assertThat(old.messages).hasSize(2);
        FakeSmtpServer quota = server(List.of("PIPELINING"), line -> line.startsWith("RCPT") ? "552 Requested mail action aborted: exceeded storage allocation" : null);
        assertThat(completed(connect(quota).send(envelope("a@fake.test"))).recipients().get(0)).isInstanceOf(RecipientOutcome.Failed.class);
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
        FakeSmtpServer s = server(List.of("PIPELINING", "ENHANCEDSTATUSCODES"),
                line -> line.startsWith("RCPT") ? "452 4.5.3 Too many recipients" : null);
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients()).allSatisfy(o -> assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class));
        assertThat(s.commands("MAIL")).hasSize(1);
    }

    @Test
    void aConnectionLostInALaterRoundDefersOnlyTheRest() throws IOException {
        AtomicInteger mails = new AtomicInteger();
        AtomicInteger rcpts = new AtomicInteger();
        FakeSmtpServer s = server(List.of("ENHANCEDSTATUSCODES"), line -> {
            if (line.startsWith("MAIL")) {
                rcpts.set(0);
                return mails.incrementAndGet() > 1 ? FakeSmtpServer.HANG_UP : null;
            }
            return line.startsWith("RCPT") && rcpts.incrementAndGet() > 1 ? "452 4.5.3 Too many recipients" : null;
        });
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test")));
        assertThat(done.recipients().get(0)).as("the first round delivered it: not to be sent elsewhere")
                .isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(done.recipients().get(1)).isInstanceOf(RecipientOutcome.Deferred.class);
        assertThat(((RecipientOutcome.Deferred) done.recipients().get(1)).maybeDelivered()).isFalse();
    }

    /**
     * A MAIL refused for good in a later round ("too many messages in this session") judges the session, not the
     * recipients refused as too many, which the server never saw: they are deferred for a later delivery. They were
     * bounced with the MAIL's 554.
     */
    @Test
    void aMailRefusedInALaterRoundDefersTheRestNotBouncesThem() throws IOException {
        AtomicInteger mails = new AtomicInteger();
        AtomicInteger rcpts = new AtomicInteger();
        FakeSmtpServer s = server(List.of("PIPELINING", "ENHANCEDSTATUSCODES"), line -> {
            if (line.startsWith("MAIL")) {
                rcpts.set(0);
                return mails.incrementAndGet() > 1 ? "554 5.3.0 too many messages in this session" : null;
            }
            return line.startsWith("RCPT") && rcpts.incrementAndGet() > 2 ? "452 4.5.3 Too many recipients" : null;
        });
        TransactionResult.Completed done = completed(connect(s).send(envelope("a@fake.test", "b@fake.test", "c@fake.test",
                "d@fake.test")));
        assertThat(done.recipients().subList(0, 2)).allSatisfy(o -> assertThat(o).isInstanceOf(RecipientOutcome.Accepted.class));
        assertThat(done.recipients().subList(2, 4)).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(RecipientOutcome.Deferred.class,
                d -> {
                    assertThat(d.maybeDelivered()).isFalse();
                    assertThat(d.detail()).contains("554 5.3.0 too many messages in this session");
                }));
        assertThat(s.commands("MAIL")).hasSize(2);
    }

    // RFC 8689 REQUIRETLS: a message that asks for it never goes over a session that is not TLS authenticated by
    // DANE or MTA-STS, whatever the server offers (the parameter on an authenticated session, and 5.7.30 for a next
    // hop without the extension, are tested with real TLS in RequireTlsDeliveryTest and RequireTlsNextHopPeerTest).

    @Test
    void aRequireTlsMessageIsNeverSentOverAnUnauthenticatedSession() throws IOException {
        FakeSmtpServer s = server(List.of("ENHANCEDSTATUSCODES", "REQUIRETLS"), c -> null);
        SmtpConnection c = connect(s);
        TransactionResult.Completed done = completed(c.send(envelope("x@fake.test").withRequireTls(true)));
        assertThat(done.recipients()).singleElement().isInstanceOfSatisfying(RecipientOutcome.Failed.class, f -> {
            assertThat(f.status()).isEqualTo(dev.mxd.smtp.EnhancedStatus.ENCRYPTION_NEEDED);
            assertThat(f.reply()).isEmpty();
        });
        assertThat(s.commands("MAIL")).isEmpty();
        assertThat(completed(c.send(envelope("x@fake.test"))).recipients()).singleElement()
                .isInstanceOf(RecipientOutcome.Accepted.class);
        assertThat(s.commands("MAIL")).singleElement().satisfies(m -> assertThat(m).doesNotContain("REQUIRETLS"));
    }
}
