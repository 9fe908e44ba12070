package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.DomainFilter;
import dev.mxd.config.Engine;
import dev.mxd.config.FiltersConfig;
import dev.mxd.config.SpamPolicy;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.mail.Transaction;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The filter in the receiving path, with engines that decide by the text they read: each verdict's
 * effect on the spool and the quarantine, and the reply the client gets. The real daemons are in
 * GatewayPeerTest.
 */
class FilteringStoreTest {

    @TempDir
    Path dir;

    Spool spool;
    Quarantine quarantine;
    final AtomicInteger reads = new AtomicInteger();

    /** "VIRUS" anywhere is a virus; "SCORE=n" is the spam score; "DOWN" makes the engine unreachable. */
    final class TextEngine implements ScanEngine {
        private final Engine engine;

        TextEngine(Engine engine) {
            this.engine = engine;
        }

        @Override
        public Engine engine() {
            return engine;
        }

        @Override

        public Optional<EngineResult.Unavailable> ping() {

            return Optional.empty();

        }


        @Override
        public EngineResult scan(MessageSource message, ScanEnvelope envelope) {
            String text;
            try (InputStream in = message.open()) {
                text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            reads.incrementAndGet();
            assertThat(text.length()).isEqualTo(message.size());
            if (text.contains("SLOW")) {
                try {
                    Thread.sleep(300); // an engine that takes its time
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (text.contains("DOWN")) {
                return new EngineResult.Unavailable(engine, EngineResult.Reason.REFUSED, "connection refused");
            }
            if (engine == Engine.CLAMD) {
                return text.contains("VIRUS") ? new EngineResult.Infected(engine, "Test.Virus") : new EngineResult.Clean(engine);
            }
            int at = text.indexOf("SCORE=");
            double score = at < 0 ? 0 : Double.parseDouble(text.substring(at + 6, text.indexOf('\r', at)));
            return new EngineResult.Scored(engine, score, 5.0, score >= 5, List.of(), Optional.empty());
        }
    }

    @BeforeEach
    void open() throws Exception {
        spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        quarantine = new Quarantine(dir);
    }

    FilteringStore store(DomainFilter.VirusAction virus, FiltersConfig.OnError onError) {
        FiltersConfig config = new FiltersConfig(Optional.empty(), Optional.empty(), Optional.empty(), Duration.ofSeconds(5), onError,
                FiltersConfig.OnTooLarge.ACCEPT);
        FilterChain chain = new FilterChain(config, Map.of(Engine.CLAMD, new TextEngine(Engine.CLAMD), Engine.SPAMD,
                new TextEngine(Engine.SPAMD)));
        SpamPolicy spam = new SpamPolicy(OptionalDouble.of(5), OptionalDouble.of(10), OptionalDouble.of(15), OptionalDouble.empty(),
                Optional.of("[SPAM] "), false);
        DomainFilter filter = new DomainFilter(List.of(Engine.CLAMD, Engine.SPAMD), virus, Optional.of(spam));
        return new FilteringStore(spool, chain, d -> d.equals("example.test") ? Optional.of(filter) : Optional.empty(), quarantine,
                Clock.systemUTC());
    }

    static Transaction to(String domain) {
        return new Transaction(Optional.of(Mailbox.parse("a@x.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse("alice@" + domain), RcptParameters.NONE, domain.equals("example.test")
                        ? new Route.Local(domain, List.of("alice")) : new Route.Relay(domain))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false));
    }

    MessageStore.StoreOutcome send(FilteringStore store, Transaction t, String text) {
        MessageStore.IncomingMessage m = store.begin(t);
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        for (int off = 0; off < b.length; off += 1000) {
            m.write(b, off, Math.min(1000, b.length - off)); // in pieces, as the decoder hands them over
        }
        return m.commit();
    }

    String spooled(MessageStore.StoreOutcome o) throws IOException {
        String id = ((MessageStore.StoreOutcome.Stored) o).queueId();
        assertThat(spool.state(id)).contains(QueueState.INCOMING);
        return dev.mxd.testing.SpoolFiles.text(spool, id);
    }

    void spoolIsEmpty() throws IOException {
        assertThat(spool.ids(QueueState.INCOMING)).isEmpty();
        try (Stream<Path> tmp = Files.list(dir.resolve("spool/tmp")); Stream<Path> data = Files.list(dir.resolve("spool/data"))) {
            assertThat(tmp).isEmpty();
            assertThat(data).isEmpty();
        }
    }

    static final String CLEAN = "Subject: hello\r\n\r\nhello\r\n";

    @Test
    void cleanMailIsSpooledByteForByteAfterTheReceivedHeader() throws Exception {
        FilteringStore s = store(DomainFilter.VirusAction.REJECT, FiltersConfig.OnError.TEMPFAIL);
        String text = spooled(send(s, to("example.test"), CLEAN));
        assertThat(text).startsWith("X-Spam-Status: No, score=0.0 required=5.0 engines=spamd\r\nX-Spam-Score: 0.0\r\nReceived: ")
                .endsWith(" +0000\r\n" + CLEAN);
    }

    @Test
    void unfilteredDomainsAreNotScanned() throws Exception {
        FilteringStore s = store(DomainFilter.VirusAction.REJECT, FiltersConfig.OnError.TEMPFAIL);
        String text = spooled(send(s, to("relay.test"), "Subject: VIRUS\r\n\r\nSCORE=99\r\n"));
        assertThat(text).startsWith("Received: from client.test").endsWith("\r\nSubject: VIRUS\r\n\r\nSCORE=99\r\n");
        assertThat(reads).hasValue(0);
    }

    @Test
    void virusIsRejectedWithItsNameAndNothingIsKept() throws Exception {
        MessageStore.StoreOutcome o = send(store(DomainFilter.VirusAction.REJECT, FiltersConfig.OnError.TEMPFAIL), to("example.test"),
                "Subject: x\r\n\r\nVIRUS\r\n");
        assertThat(((MessageStore.StoreOutcome.Failed) o).reply().summary()).isEqualTo("554 5.7.1 Message refused: virus Test.Virus found");
        spoolIsEmpty();
    }

    /**
     * Scans that end after timeouts.final-reply (counted from the final dot; the client waits 10 minutes for its reply):
     * neither spooled nor quarantined, 451 4.4.5, so that a client that gave up and sends the message again does not
     * have it accepted twice. Before, the commit went on whenever the scans ended.
     */
    @Test
    void scansThatEndPastTheFinalReplyDeadlineStoreNothing() throws Exception {
        for (String text : List.of(CLEAN + "SLOW\r\n", "Subject: x\r\n\r\nVIRUS SLOW\r\n")) {
            MessageStore.IncomingMessage m = store(DomainFilter.VirusAction.QUARANTINE, FiltersConfig.OnError.TEMPFAIL).begin(to("example.test"));
            byte[] b = text.getBytes(StandardCharsets.US_ASCII);
            m.write(b, 0, b.length);
            m.commitBy(System.nanoTime() + Duration.ofMillis(100).toNanos()); // passes while the engine takes 300 ms
            MessageStore.StoreOutcome o = m.commit();
            assertThat(o).as(text).isInstanceOf(MessageStore.StoreOutcome.Failed.class);
            assertThat(((MessageStore.StoreOutcome.Failed) o).reply().summary()).startsWith("451 4.4.5 ");
            spoolIsEmpty();
            assertThat(quarantine.list(0, 10).total()).as("nothing quarantined").isZero();
        }
        // past it before its turn to be scanned came (store threads far behind): not even scanned
        int scans = reads.get();
        MessageStore.IncomingMessage stale = store(DomainFilter.VirusAction.QUARANTINE, FiltersConfig.OnError.TEMPFAIL).begin(to("example.test"));
        stale.write(CLEAN.getBytes(StandardCharsets.US_ASCII), 0, CLEAN.length());
        stale.commitBy(System.nanoTime() - 1);
        assertThat(((MessageStore.StoreOutcome.Failed) stale.commit()).reply().summary()).startsWith("451 4.4.5 ");
        assertThat(reads.get()).as("no engine asked").isEqualTo(scans);
        spoolIsEmpty();
        // in time: as always
        MessageStore.IncomingMessage m = store(DomainFilter.VirusAction.QUARANTINE, FiltersConfig.OnError.TEMPFAIL).begin(to("example.test"));
        byte[] b = CLEAN.getBytes(StandardCharsets.US_ASCII);
        m.write(b, 0, b.length);
        m.commitBy(System.nanoTime() + Duration.ofMinutes(1).toNanos());
        assertThat(spooled(m.commit())).endsWith(CLEAN);
    }

    /** The engines hear the client's forward-confirmed name (Rspamd's Hostname), not only its address. */
    @Test
    void theEnginesHearTheClientsConfirmedName() {
        Transaction t = to("example.test");
        Transaction named = new Transaction(t.sender(), t.parameters(), t.recipients(), new ClientInfo(t.client().remote(),
                "client.test", true, false, Optional.empty(), Optional.of("mail.client.test")));
        assertThat(FilteringStore.envelope("Q1", named).hostname()).contains("mail.client.test");
        assertThat(FilteringStore.envelope("Q2", t).hostname()).as("no confirmed name").isEmpty();
    }

    @Test
    void virusQuarantinedIsAcknowledgedButNotSpooled() throws Exception {
        MessageStore.StoreOutcome o = send(store(DomainFilter.VirusAction.QUARANTINE, FiltersConfig.OnError.TEMPFAIL),
                to("example.test"), "Subject: x\r\n\r\nVIRUS\r\n");
        assertThat(o).isInstanceOf(MessageStore.StoreOutcome.Stored.class);
        spoolIsEmpty();
        QuarantineEntry e = quarantine.list(0, 10).entries().get(0);
        assertThat(e.reason()).isEqualTo("virus Test.Virus (clamd)");
        assertThat(e.queueId()).isEqualTo(((MessageStore.StoreOutcome.Stored) o).queueId());
        assertThat(e.recipients()).containsExactly("alice@example.test");
        assertThat(Files.readString(quarantine.messageFile(e.id()))).startsWith("Received: from client.test").endsWith("\r\n\r\nVIRUS\r\n");

        // The sender's DSN parameters go into the entry with it, for a release to keep (RFC 3461).
        RcptParameters never = new RcptParameters(java.util.Set.of(dev.mxd.smtp.DsnNotify.NEVER), Optional.of("rfc822;al@old.test"));
        Transaction t = to("example.test");
        Transaction withDsn = new Transaction(t.sender(), new MailParameters(java.util.OptionalLong.empty(), MailParameters.Body.SEVEN_BIT,
                false, Optional.of(dev.mxd.smtp.DsnReturn.HDRS), Optional.of("E1")),
                List.of(new Recipient(t.recipients().get(0).address(), never, t.recipients().get(0).route())), t.client());
        send(store(DomainFilter.VirusAction.QUARANTINE, FiltersConfig.OnError.TEMPFAIL), withDsn, "Subject: y\r\n\r\nVIRUS\r\n");
        QuarantineEntry second = quarantine.list(0, 10).entries().stream().filter(x -> !x.id().equals(e.id())).findFirst().orElseThrow();
        assertThat(second.recipientDsn()).containsExactly(never);
        assertThat(second.received()).hasValueSatisfying(r -> {
            assertThat(r.ret()).contains(dev.mxd.smtp.DsnReturn.HDRS);
            assertThat(r.envid()).contains("E1");
        });
    }

    @Test
    void virusDiscardedLeavesNothingAnywhere() throws Exception {
        try (dev.mxd.testing.LogCapture log = dev.mxd.testing.LogCapture.start(ch.qos.logback.classic.Level.INFO)) {
            MessageStore.StoreOutcome o = send(store(DomainFilter.VirusAction.DISCARD, FiltersConfig.OnError.TEMPFAIL), to("example.test"),
                    "Subject: x\r\n\r\nVIRUS\r\n");
            assertThat(o).isInstanceOf(MessageStore.StoreOutcome.Stored.class);
            spoolIsEmpty();
            assertThat(quarantine.list(0, 10).total()).isZero();
            // the sender was told 250: the log line is the only trace, and says whose mail it was
            String id = ((MessageStore.StoreOutcome.Stored) o).queueId();
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains(id + ": discarded (virus ")
                    .containsPattern("client=[0-9.:a-f]+, helo=[^,]+, from=<[^>]+>, to=<[^>]+@example.test>"));
        }
    }

    /**
     * A reload between RCPT and DATA that makes the recipients' domains filter differently (one of
     * them now discards viruses, the other does not filter): the transaction is answered 451, so
     * it is sent again under the new settings. Before, the one verdict of the filtering domain
     * applied to both, and the other domain's copy of a virus was discarded with it.
     */
    @Test
    void filtersThatDivergedByAReloadDuringTheTransactionAreAnswered451() throws Exception {
        FilteringStore s = store(DomainFilter.VirusAction.DISCARD, FiltersConfig.OnError.TEMPFAIL);
        Transaction both = new Transaction(Optional.of(Mailbox.parse("a@x.test")), MailParameters.NONE,
                List.of(new Recipient(Mailbox.parse("alice@example.test"), RcptParameters.NONE, new Route.Local("example.test", List.of("alice"))),
                        new Recipient(Mailbox.parse("bob@other.test"), RcptParameters.NONE, new Route.Relay("other.test"))),
                new ClientInfo(new InetSocketAddress("127.0.0.1", 40000), "client.test", true, false));
        MessageStore.StoreOutcome o = send(s, both, "Subject: x\r\n\r\nVIRUS\r\n");
        assertThat(o).isInstanceOfSatisfying(MessageStore.StoreOutcome.Failed.class,
                f -> assertThat(f.reply().summary()).startsWith("451 4.3.0 The filter settings changed"));
        spoolIsEmpty();
        assertThat(quarantine.list(0, 10).total()).isZero();
    }

    @Test
    void spamByThresholdsTagsQuarantinesOrRejects() throws Exception {
        FilteringStore s = store(DomainFilter.VirusAction.REJECT, FiltersConfig.OnError.TEMPFAIL);
        String tagged = spooled(send(s, to("example.test"), "Subject: offer\r\n\r\nSCORE=7\r\n"));
        assertThat(tagged).startsWith("X-Spam-Status: Yes, score=7.0 required=5.0 engines=spamd\r\nX-Spam-Score: 7.0\r\nReceived: ")
                .contains("\r\nSubject: [SPAM] offer\r\n\r\nSCORE=7\r\n");
        assertThat(send(s, to("example.test"), "Subject: offer\r\n\r\nSCORE=12\r\n")).isInstanceOf(MessageStore.StoreOutcome.Stored.class);
        assertThat(quarantine.list(0, 10).entries()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo("spam score 12.0"));
        MessageStore.StoreOutcome rejected = send(s, to("example.test"), "Subject: offer\r\n\r\nSCORE=20\r\n");
        assertThat(((MessageStore.StoreOutcome.Failed) rejected).reply().summary()).isEqualTo("550 5.7.1 Message refused as spam");
        assertThat(spool.ids(QueueState.INCOMING)).hasSize(1);
        assertThat(s.counts()).containsEntry("tagged", 1L).containsEntry("quarantine", 1L).containsEntry("reject", 1L);
    }

    @Test
    void largeTextSpilledToDiskIsScannedAndTaggedStreaming() throws Exception {
        FilteringStore s = store(DomainFilter.VirusAction.REJECT, FiltersConfig.OnError.TEMPFAIL);
        String body = "x".repeat(998) + "\r\n";
        String text = "Subject: big\r\n\r\nSCORE=6\r\n" + body.repeat(300); // 300 KB: past the spool's 64 KB in memory
        String spooled = spooled(send(s, to("example.test"), text));
        assertThat(spooled).startsWith("X-Spam-Status: Yes").contains("\r\nSubject: [SPAM] big\r\n").endsWith(body.repeat(300));
        assertThat(reads).hasValue(2); // clamd and spamd, one read each
        spoolIsEmptyOfTemporaries();
    }

    void spoolIsEmptyOfTemporaries() throws IOException {
        try (Stream<Path> tmp = Files.list(dir.resolve("spool/tmp"))) {
            assertThat(tmp).isEmpty();
        }
    }

    @Test
    void engineDownIsTempFailOrAcceptedMarkedSkipped() throws Exception {
        MessageStore.StoreOutcome t = send(store(DomainFilter.VirusAction.REJECT, FiltersConfig.OnError.TEMPFAIL), to("example.test"),
                "Subject: x\r\n\r\nDOWN\r\n");
        assertThat(((MessageStore.StoreOutcome.Failed) t).reply().summary())
                .isEqualTo("451 4.7.1 Message not scanned (clamd unavailable); try again later");
        spoolIsEmpty();
        String accepted = spooled(send(store(DomainFilter.VirusAction.REJECT, FiltersConfig.OnError.ACCEPT), to("example.test"),
                "Subject: x\r\n\r\nDOWN\r\n"));
        assertThat(accepted).startsWith("X-Mxd-Scan: skipped\r\nX-Mxd-Scan-Skipped: clamd refused, spamd refused\r\nReceived: ");
    }
}
