package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.DsnNotify;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.PostfixServer;
import dev.mxd.testing.SinkDump;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link SmtpConnection} against real peers: Postfix's smtp-sink (dumping what it received, with
 * and without PIPELINING, rejecting RCPT) and a private Postfix smtpd with STARTTLS relaying to an
 * smtp-sink, so what arrives is compared byte for byte with what was sent.
 */
@PeerTest
class SmtpConnectionPeerTest {

    private static final String PIPELINED = "127.0.0.51";
    private static final String LOCK_STEP = "127.0.0.52";
    private static final String SOFT_RCPT = "127.0.0.53";
    private static final String HARD_RCPT = "127.0.0.54";
    private static final String POSTFIX = "127.0.0.55";
    private static final String BEHIND_POSTFIX = "127.0.0.56";
    private static final String BIG = "127.0.0.57";
    private static final String FAST = "127.0.0.58";
    private static final String FAST_LOCK_STEP = "127.0.0.59";
    private static final String SEVEN_BIT = "127.0.0.60";

    /** Dot-leading lines, a lone dot, UTF-8 and Latin-1 8-bit bytes, LF line ends as a spool may keep them. */
    private static final byte[] MESSAGE = concat(("From: a@client.test\nTo: b@example.test\nSubject: dots and 8 bit\n"
            + "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
            + ".leading dot\n..two dots\n.\nGr\u00fc\u00dfe, caf\u00e9\n...\n").getBytes(StandardCharsets.UTF_8),
            new byte[] {'l', 'a', 't', 'i', 'n', '1', ' ', (byte) 0xe9, (byte) 0xff, '\n', 'e', 'n', 'd', '\n'});

    private static int port;
    private static Path dumps;
    private static final List<AutoCloseable> peers = new ArrayList<>();

    @BeforeAll
    static void startPeers() throws Exception {
        port = FreePort.tcpOn(PIPELINED, LOCK_STEP, SOFT_RCPT, HARD_RCPT, POSTFIX, BEHIND_POSTFIX, BIG, FAST, FAST_LOCK_STEP, SEVEN_BIT);
        dumps = Files.createTempDirectory("mxd-client-dumps");
        Files.setPosixFilePermissions(dumps, PosixFilePermissions.fromString("rwxrwxrwx")); // smtp-sink writes as nobody
        peers.add(SmtpSink.start(PIPELINED, port, "-d", dumpDir(PIPELINED)));
        peers.add(SmtpSink.start(LOCK_STEP, port, "-p", "-d", dumpDir(LOCK_STEP)));
        peers.add(SmtpSink.start(SOFT_RCPT, port, "-r", "RCPT", "-b", "452 4.2.2 mailbox full"));
        peers.add(SmtpSink.start(HARD_RCPT, port, "-f", "RCPT", "-B", "550 5.1.1 no such user"));
        peers.add(SmtpSink.start(BEHIND_POSTFIX, port, "-d", dumpDir(BEHIND_POSTFIX)));
        peers.add(SmtpSink.start(BIG, port, "-d", dumpDir(BIG)));
        peers.add(SmtpSink.start(FAST, port));
        peers.add(SmtpSink.start(FAST_LOCK_STEP, port, "-p"));
        peers.add(SmtpSink.start(SEVEN_BIT, port, "-8", "-d", dumpDir(SEVEN_BIT)));
        peers.add(PostfixServer.start(POSTFIX + ":" + port, "example.test", "[" + BEHIND_POSTFIX + "]:" + port));
    }

    @AfterAll
    static void stopPeers() throws Exception {
        for (AutoCloseable p : peers) {
            p.close();
        }
        TestDirs.deleteTree(dumps);
    }

    private static String dumpDir(String host) {
        return dumps.resolve(host).toString() + "/%M.";
    }

    private static Path dumpsOf(String host) {
        return dumps.resolve(host);
    }

    private static SmtpConnection connect(String host, TlsPolicy tls) {
        ClientSettings settings = ClientSettings.defaults("client.mxd.test")
                .withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(20))).withTls(tls);
        OpenResult r = SmtpConnection.open(new InetSocketAddress(host, port), "mx." + host, settings);
        assertThat(r).as("open %s", host).isInstanceOf(OpenResult.Ready.class);
        return ((OpenResult.Ready) r).connection();
    }

    private static TransactionResult.Completed completed(TransactionResult r) {
        assertThat(r).isInstanceOf(TransactionResult.Completed.class);
        return (TransactionResult.Completed) r;
    }

    private static OutboundEnvelope message(byte[] content, String... rcpts) {
        List<OutboundRecipient> recipients = new ArrayList<>();
        for (String r : rcpts) {
            recipients.add(new OutboundRecipient(r, Set.of(DsnNotify.FAILURE), Optional.of(r)));
        }
        return OutboundEnvelope.of("a@client.test", recipients, MessageContent.of(content)).withEightBit(true);
    }

    @Test
    void pipelinedDeliveryArrivesByteExactAtSmtpSink() throws Exception {
        try (SmtpConnection c = connect(PIPELINED, TlsPolicy.NONE)) {
            assertThat(c.extensions().offers("PIPELINING")).isTrue();
            TransactionResult.Completed done = completed(c.send(message(MESSAGE, "b@example.test")));
            assertThat(done.accepted()).hasSize(1);
            assertThat(done.accepted().get(0).finalReply().code()).isEqualTo(250);
        }
        SinkDump dump = SinkDump.await(dumpsOf(PIPELINED), 1).get(0);
        assertThat(dump.message()).isEqualTo(MESSAGE); // smtp-sink unstuffs dots and dumps LF line ends
        // smtp-sink announces no SIZE, so none is sent (the Postfix tests cover SIZE).
        assertThat(dump.record("X-Mail-Args")).containsExactly("<a@client.test> BODY=8BITMIME");
        assertThat(dump.record("X-Rcpt-Args")).containsExactly("<b@example.test> NOTIFY=FAILURE ORCPT=rfc822;b@example.test");
        assertThat(dump.record("X-Helo-Args")).containsExactly("client.mxd.test");
    }

    /**
     * smtp-sink without 8BITMIME (-8): the 8-bit message goes without BODY=8BITMIME, in
     * quoted-printable, and Jakarta Mail decodes what the sink stored to the original body.
     */
    @Test
    void aServerWithout8bitmimeGetsQuotedPrintable() throws Exception {
        try (SmtpConnection c = connect(SEVEN_BIT, TlsPolicy.NONE)) {
            assertThat(c.extensions().offers("8BITMIME")).isFalse();
            assertThat(completed(c.send(message(MESSAGE, "b@example.test"))).accepted()).hasSize(1);
        }
        SinkDump dump = SinkDump.await(dumpsOf(SEVEN_BIT), 1).get(0);
        assertThat(dump.record("X-Mail-Args")).containsExactly("<a@client.test>");
        byte[] stored = dump.message();
        for (byte b : stored) {
            assertThat(b).as("7-bit octet").isNotNegative();
        }
        String text = new String(stored, StandardCharsets.US_ASCII);
        assertThat(text).contains("Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n");
        jakarta.mail.internet.MimeMessage parsed = new jakarta.mail.internet.MimeMessage(
                jakarta.mail.Session.getInstance(new java.util.Properties()), new java.io.ByteArrayInputStream(stored));
        byte[] body;
        try (InputStream in = parsed.getInputStream()) {
            body = in.readAllBytes();
        }
        String original = new String(MESSAGE, StandardCharsets.ISO_8859_1);
        assertThat(new String(body, StandardCharsets.ISO_8859_1).replace("\r\n", "\n"))
                .isEqualTo(original.substring(original.indexOf("\n\n") + 2));
    }

    @Test
    void lockStepDeliveryWithCrLfContentArrivesByteExact() throws Exception {
        byte[] crlf = new String(MESSAGE, StandardCharsets.ISO_8859_1).replace("\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        try (SmtpConnection c = connect(LOCK_STEP, TlsPolicy.NONE)) {
            assertThat(c.extensions().offers("PIPELINING")).isFalse();
            TransactionResult.Completed done = completed(c.send(message(crlf, "b@example.test", "c@example.test")));
            assertThat(done.accepted()).hasSize(2);
        }
        SinkDump dump = SinkDump.await(dumpsOf(LOCK_STEP), 1).get(0);
        assertThat(dump.message()).isEqualTo(MESSAGE);
        assertThat(dump.record("X-Rcpt-Args")).hasSize(2);
    }

    @Test
    void a4xxToRcptDefersTheRecipientAndKeepsTheConnection() {
        try (SmtpConnection c = connect(SOFT_RCPT, TlsPolicy.NONE)) {
            TransactionResult.Completed done = completed(c.send(message(MESSAGE, "b@example.test", "c@example.test")));
            assertThat(done.recipients()).allSatisfy(o -> {
                assertThat(o).isInstanceOf(RecipientOutcome.Deferred.class);
                assertThat(o.status()).hasToString("4.2.2");
                assertThat(o.detail()).contains("452 4.2.2 mailbox full");
            });
            assertThat(c.reusable()).isTrue();
            assertThat(completed(c.send(message(MESSAGE, "d@example.test"))).recipients()).hasSize(1);
        }
    }

    @Test
    void a5xxToRcptFailsTheRecipient() {
        try (SmtpConnection c = connect(HARD_RCPT, TlsPolicy.NONE)) {
            TransactionResult.Completed done = completed(c.send(message(MESSAGE, "b@example.test")));
            RecipientOutcome o = done.recipients().get(0);
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.1.1");
        }
    }

    @Test
    void tenMegabytesStreamWithoutBeingHeldAndArriveWhole() throws Exception {
        GeneratedContent big = new GeneratedContent(78L * 134_500, 3); // whole 78-byte lines, 10.5 MB
        try (SmtpConnection c = connect(BIG, TlsPolicy.NONE)) {
            OutboundEnvelope e = OutboundEnvelope.of("a@client.test", List.of(OutboundRecipient.of("big@example.test")), big).withEightBit(true);
            assertThat(completed(c.send(e)).accepted()).hasSize(1);
        }
        SinkDump dump = SinkDump.await(dumpsOf(BIG), 1).get(0);
        // What smtp-sink stores: our bytes with CRLF as LF and the transparency dots removed again.
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        long expectedLength = digestWithLf(big.open(), expected);
        MessageDigest actual = MessageDigest.getInstance("SHA-256");
        long actualLength;
        try (InputStream in = dump.openMessage()) {
            actualLength = digestWithLf(in, actual);
        }
        assertThat(actualLength).isEqualTo(expectedLength).isGreaterThan(10_000_000L);
        assertThat(HexFormat.of().formatHex(actual.digest())).isEqualTo(HexFormat.of().formatHex(expected.digest()));
    }

    /** Digests a stream with CR before LF dropped, block by block; returns the bytes digested. */
    private static long digestWithLf(InputStream in, MessageDigest digest) throws IOException {
        byte[] block = new byte[64 * 1024];
        byte[] out = new byte[block.length];
        long total = 0;
        boolean pendingCr = false;
        try (in) {
            for (int n; (n = in.read(block)) >= 0; ) {
                int k = 0;
                for (int i = 0; i < n; i++) {
                    byte b = block[i];
                    if (pendingCr && b != '\n') {
                        digest.update((byte) '\r');
                        total++;
                    }
                    pendingCr = b == '\r';
                    if (!pendingCr) {
                        out[k++] = b;
                    }
                }
                digest.update(out, 0, k);
                total += k;
            }
        }
        return total;
    }

    @Test
    void opportunisticTlsWithPostfixAndTheMessageArrivesUnchanged() throws Exception {
        try (SmtpConnection c = connect(POSTFIX, TlsPolicy.OPPORTUNISTIC)) {
            assertThat(c.tlsProtocol()).hasValueSatisfying(p -> assertThat(p).isIn("TLSv1.3", "TLSv1.2"));
            assertThat(c.extensions().offers("STARTTLS")).isFalse(); // the EHLO after TLS no longer offers it
            assertThat(c.greeting().firstLine()).contains("postfix.mxd.test");
            TransactionResult.Completed done = completed(c.send(message(MESSAGE, "b@example.test")));
            assertThat(done.accepted()).as("outcomes %s", done.recipients()).hasSize(1);
        }
        SinkDump dump = SinkDump.await(dumpsOf(BEHIND_POSTFIX), 1).get(0);
        String relayed = new String(dump.message(), StandardCharsets.ISO_8859_1);
        String sent = new String(MESSAGE, StandardCharsets.ISO_8859_1);
        // Postfix adds its Received header (saying ESMTPS: it took the mail over TLS) and may add
        // Message-Id and Date; the body and our headers pass unchanged.
        assertThat(relayed).startsWith("Received: from client.mxd.test").contains("with ESMTPS");
        assertThat(relayed.substring(relayed.indexOf("\n\n"))).isEqualTo(sent.substring(sent.indexOf("\n\n")));
        assertThat(relayed).contains("Subject: dots and 8 bit\n").contains("Content-Transfer-Encoding: 8bit\n");
    }

    @Test
    void requiredTlsWorksWithPostfix() {
        try (SmtpConnection c = connect(POSTFIX, TlsPolicy.REQUIRE)) {
            assertThat(c.tlsProtocol()).isPresent();
            assertThat(completed(c.send(message(MESSAGE, "tls@example.test"))).accepted()).hasSize(1);
        }
    }

    @Test
    void aMessageOverPostfixsSizeLimitIsRefusedWithoutSendingIt() {
        try (SmtpConnection c = connect(POSTFIX, TlsPolicy.OPPORTUNISTIC)) {
            long limit = c.extensions().maxSize().orElseThrow(); // Postfix's message_size_limit, 10240000 by default
            OutboundEnvelope e = OutboundEnvelope.of("a@client.test", List.of(OutboundRecipient.of("big@example.test")), new GeneratedContent(limit + 1, 1));
            RecipientOutcome o = completed(c.send(e)).recipients().get(0);
            assertThat(o).isInstanceOf(RecipientOutcome.Failed.class);
            assertThat(o.status()).hasToString("5.3.4");
            assertThat(c.reusable()).isTrue();
            // The same session still takes a message that fits, declaring its size.
            assertThat(completed(c.send(message(MESSAGE, "fits@example.test"))).accepted()).hasSize(1);
        }
    }

    @Test
    void oneReusedConnectionCarriesManyMessagesWithAndWithoutPipelining() {
        throughput(FAST, 300); // warm-up: JIT, the sink's first sessions
        throughput(FAST_LOCK_STEP, 300);
        int messages = 2000;
        double pipelined = throughput(FAST, messages);
        double lockStep = throughput(FAST_LOCK_STEP, messages);
        System.out.printf("SmtpConnection over one connection to smtp-sink, %d messages of %d bytes: "
                + "pipelined %.0f msg/s, lock-step %.0f msg/s%n", messages, MESSAGE.length, pipelined, lockStep);
    }

    /** Sends {@code messages} over one connection, each accepted, and returns messages per second. */
    private static double throughput(String host, int messages) {
        try (SmtpConnection c = connect(host, TlsPolicy.NONE)) {
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                TransactionResult.Completed done = completed(c.send(message(MESSAGE, "r" + i + "@example.test")));
                assertThat(done.accepted()).hasSize(1);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(c.reusable()).isTrue();
            assertThat(c.transactions()).isEqualTo(messages);
            return messages / seconds;
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

}
