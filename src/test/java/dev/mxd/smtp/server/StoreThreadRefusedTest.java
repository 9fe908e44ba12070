package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Limits;
import dev.mxd.config.Timeouts;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Route;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The end of DATA when no thread can be had to commit the message on (the JVM cannot start one:
 * "unable to create native thread"). Before, the error escaped on the event loop: the client got
 * no reply and the half-written message was never discarded. Now the client hears a 4xx (the
 * message is not accepted, so it keeps it and sends it again), the message is discarded, and the
 * session goes on.
 */
class StoreThreadRefusedTest {

    /** A pool that cannot start a thread for anything. */
    private static final class NoThreads extends AbstractExecutorService {
        final AtomicInteger refused = new AtomicInteger();

        @Override
        public void execute(Runnable task) {
            refused.incrementAndGet();
            throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
        }

        @Override
        public void shutdown() {
        }

        @Override
        public List<Runnable> shutdownNow() {
            return List.of();
        }

        @Override
        public boolean isShutdown() {
            return false;
        }

        @Override
        public boolean isTerminated() {
            return false;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return true;
        }
    }

    @Test
    void noThreadToCommitOnIsATemporaryFailureAndTheMessageIsDiscarded() throws Exception {
        Counted store = new Counted();
        NoThreads pool = new NoThreads();
        EmbeddedClient ch = session(store, pool);
        ch.runPendingTasks();
        assertThat(ch.written()).startsWith("220 ");

        send(ch, "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\n");
        assertThat(ch.written()).contains("354 ");
        send(ch, "Subject: t\r\n\r\nhi\r\n.\r\n");

        String reply = ch.written();
        assertThat(pool.refused.get()).isEqualTo(1);
        assertThat(reply).as("the reply to the end of DATA").startsWith("452 4.3.1 ");
        assertThat(store.committed.get()).as("nothing committed").isZero();
        assertThat(store.discarded.get()).as("the message discarded").isEqualTo(1);
        assertThat(ch.isActive()).as("the session goes on").isTrue();

        send(ch, "NOOP\r\n");
        assertThat(ch.written()).startsWith("250 ");
        ch.close();
    }

    /**
     * The server stops (SIGTERM) after a message's final dot was read and before its connection's
     * shutdown task ran: the store pool, shut down, refuses the commit. The client heard 452 4.3.1
     * "insufficient system storage" (its log blaming a full disk); now 421 4.3.2, the service is
     * closing (RFC 5321 §3.8), and the connection closes. Nothing was accepted: it sends it again.
     */
    @Test
    void aStopBetweenTheFinalDotAndTheCommitIs421() throws Exception {
        Counted store = new Counted();
        ExecutorService stopped = java.util.concurrent.Executors.newSingleThreadExecutor();
        stopped.shutdown();
        EmbeddedClient ch = session(store, stopped);
        ch.runPendingTasks();
        assertThat(ch.written()).startsWith("220 ");
        send(ch, "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\n");
        assertThat(ch.written()).contains("354 ");
        send(ch, "Subject: t\r\n\r\nhi\r\n.\r\n");
        assertThat(ch.written()).as("the reply to the end of DATA").startsWith("421 4.3.2 ").doesNotContain("452");
        assertThat(store.committed.get()).isZero();
        assertThat(store.discarded.get()).isEqualTo(1);
        assertThat(ch.isActive()).as("closed after the 421").isFalse();
    }

    /**
     * A fault of mxd's own while the text is stored (a bug such as the index error a first line of 1,000 blanks
     * once caused): the client was cut off without a reply, and the fault logged at debug only, so it sent the
     * same text into the same fault until its queue lifetime ran out. Now 421 4.3.0, the draft discarded.
     */
    @Test
    void aFaultWhileTheTextIsStoredIs421AndNothingIsKept() throws Exception {
        Counted store = new Counted();
        store.failWrites = true;
        EmbeddedClient ch = session(store, java.util.concurrent.ForkJoinPool.commonPool());
        ch.runPendingTasks();
        assertThat(ch.written()).startsWith("220 ");
        send(ch, "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\n");
        assertThat(ch.written()).contains("354 ");
        send(ch, "Subject: t\r\n\r\nhi\r\n.\r\n");
        assertThat(ch.written()).as("the reply to the end of DATA").startsWith("421 4.3.0 ");
        assertThat(ch.isActive()).as("closed after the 421").isFalse();
        assertThat(store.committed.get()).isZero();
        assertThat(store.discarded.get()).isEqualTo(1);
    }

    /**
     * The same fault in a message pipelined behind another's final dot: its text is read when the first one's reply
     * resumes the decoder, and the fault went to Netty's pipeline tail (a warning), the connection left open with no
     * reply. Now 421 4.3.0 after the first message's 250.
     */
    @Test
    void aFaultInAPipelinedSecondMessageIs421AfterTheFirstOnesReply() throws Exception {
        Counted store = new Counted();
        store.failFromMessage = 2;
        EmbeddedClient ch = session(store, java.util.concurrent.ForkJoinPool.commonPool());
        ch.runPendingTasks();
        assertThat(ch.written()).startsWith("220 ");
        send(ch, "EHLO client.test\r\n");
        ch.written();
        String message = "MAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n";
        ch.writeInbound(Unpooled.copiedBuffer(message + message, StandardCharsets.US_ASCII));
        StringBuilder out = new StringBuilder();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            ch.runPendingTasks();
            out.append(ch.written());
            return out.toString().contains("421 ");
        });
        assertThat(out.toString()).contains("250 ").contains("421 4.3.0 ");
        assertThat(out.toString().indexOf("421 4.3.0")).isGreaterThan(out.toString().lastIndexOf("250 "));
        assertThat(ch.isActive()).isFalse();
        assertThat(store.committed.get()).isEqualTo(1);
        assertThat(store.discarded.get()).isEqualTo(1);
    }

    /**
     * A fault while a message is being committed: the commit's reply comes first (the message is stored; without its
     * 250 the client would send it again), then 421 4.3.0 and the close.
     */
    @Test
    void aFaultWhileAMessageIsCommittedGetsTheCommitsReplyFirst() throws Exception {
        String out = whileCommitting(ch -> ch.pipeline().fireExceptionCaught(new IllegalStateException("a fault of mxd's while storing")));
        assertThat(out).startsWith("250 ").contains("421 4.3.0 ");
    }

    /**
     * The connection limiter chose this session to make room (it was idle) and its final dot arrived before the shed ran
     * on its event loop: the limiter no longer counts it, so it is closed with 421 right after its message's 250, rather
     * than staying open uncounted (each such race let one more connection past the limit).
     */
    @Test
    void aSessionShedWhileItsMessageIsCommittedGoesAfterItsReply() throws Exception {
        String out = whileCommitting(ch -> ((SmtpConnectionHandler) ch.pipeline().get(SmtpServer.SESSION))
                .shed(ch.pipeline().context(SmtpServer.SESSION)));
        assertThat(out).startsWith("250 ").contains("421 4.4.2 ");
    }

    /**
     * A message whose commit is held while {@code meanwhile} happens to its session, which must stay open for the
     * commit's reply; then the commit ends. What the session wrote after, up to its 421 and the close.
     */
    private static String whileCommitting(java.util.function.Consumer<EmbeddedClient> meanwhile) throws Exception {
        Counted store = new Counted();
        store.commitMayEnd = new java.util.concurrent.CountDownLatch(1);
        EmbeddedClient ch = session(store, java.util.concurrent.ForkJoinPool.commonPool());
        ch.runPendingTasks();
        ch.written();
        send(ch, "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n");
        ch.written();
        meanwhile.accept(ch);
        ch.runPendingTasks();
        assertThat(ch.isActive()).as("still open: the commit's reply is owed").isTrue();
        store.commitMayEnd.countDown();
        StringBuilder out = new StringBuilder();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            ch.runPendingTasks();
            out.append(ch.written());
            return out.toString().contains("421 ");
        });
        assertThat(ch.isActive()).isFalse();
        assertThat(store.committed.get()).isEqualTo(1);
        return out.toString();
    }

    /**
     * Every store thread busy (messages ahead of this one, slow filter engines) until after timeouts.final-reply,
     * counted from the final dot: the client may have given up waiting for its reply (10 minutes, RFC 5321
     * §4.5.3.2.6) and sends the message again, so a commit that begins then stores nothing and answers 451 4.4.5.
     * Before, it was stored whenever a thread came free, and accepted twice.
     */
    @Test
    void aCommitThatWaitedForAThreadPastTheFinalReplyDeadlineStoresNothing(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        dev.mxd.queue.Spool spool = dev.mxd.queue.Spool.open(dir.resolve("spool"), "mx.test", java.time.Clock.systemUTC());
        ExecutorService one = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
            one.execute(() -> {
                try {
                    busy.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            EmbeddedClient ch = session(spool, one, Duration.ofMillis(200));
            ch.runPendingTasks();
            ch.written();
            send(ch, "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n");
            assertThat(ch.written()).as("no reply while the commit waits").doesNotContain("451").doesNotContain("250 2.0.0");
            Thread.sleep(400);
            busy.countDown();
            StringBuilder out = new StringBuilder();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
                ch.runPendingTasks();
                out.append(ch.written());
                return out.toString().contains("451 ");
            });
            assertThat(out.toString()).startsWith("451 4.4.5 ");
            assertThat(spool.ids(dev.mxd.queue.QueueState.INCOMING)).as("nothing stored").isEmpty();
            try (var data = java.nio.file.Files.list(dir.resolve("spool/data"))) {
                assertThat(data).as("no text left behind").isEmpty();
            }
            // the session goes on, and a message committed in time is stored as always
            send(ch, "MAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\nSubject: t\r\n\r\nagain\r\n.\r\n");
            out.setLength(0);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
                ch.runPendingTasks();
                out.append(ch.written());
                return out.toString().contains("250 2.0.0");
            });
            assertThat(spool.ids(dev.mxd.queue.QueueState.INCOMING)).hasSize(1);
            ch.close();
        } finally {
            one.shutdownNow();
        }
    }

    /** A connection to a session that stores into {@code store} and commits on {@code pool}; its greeting is pending. */
    private static EmbeddedClient session(MessageStore store, ExecutorService pool) throws Exception {
        return session(store, pool, Duration.ofMinutes(9));
    }

    private static EmbeddedClient session(MessageStore store, ExecutorService pool, Duration finalReply) throws Exception {
        return EmbeddedClient.connectedTo(new SmtpConnectionHandler("mx.example.test", Limits.DEFAULTS,
                new Timeouts(Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ZERO, Duration.ZERO, Duration.ofSeconds(10), finalReply),
                Optional.empty(), EVERYONE, store, pool, (stage, code) -> { }, ClientNameLookup.NONE));
    }

    /** Accepts every recipient for relay. */
    private static final RecipientPolicy EVERYONE = new RecipientPolicy() {
        @Override
        public RcptDecision decide(dev.mxd.smtp.Mailbox recipient, dev.mxd.mail.ClientInfo client) {
            return new RcptDecision.Accept(new Route.Relay(recipient.domain()));
        }

        @Override
        public Optional<dev.mxd.smtp.Mailbox> postmaster() {
            return Optional.empty();
        }
    };

    /** A store that counts what is begun, committed and discarded, and keeps nothing. */
    private static final class Counted implements MessageStore {
        final AtomicInteger begun = new AtomicInteger();
        final AtomicInteger committed = new AtomicInteger();
        final AtomicInteger discarded = new AtomicInteger();
        volatile boolean failWrites;
        volatile int failFromMessage = Integer.MAX_VALUE; // writes of this message and later ones fail
        volatile java.util.concurrent.CountDownLatch commitMayEnd; // when set, commit() waits for it

        @Override
        public MessageStore.IncomingMessage begin(dev.mxd.mail.Transaction transaction) {
            String id = "Q" + begun.incrementAndGet();
            return new MessageStore.IncomingMessage() {
                @Override
                public void write(byte[] b, int off, int len) {
                    if (failWrites || begun.get() >= failFromMessage) {
                        throw new ArrayIndexOutOfBoundsException("a fault of the store's, as a bug would throw");
                    }
                }

                @Override
                public String id() {
                    return id;
                }

                @Override
                public MessageStore.ReceivedText text() {
                    return new MessageStore.ReceivedText() {
                        @Override
                        public long size() {
                            return 0;
                        }

                        @Override
                        public InputStream open() {
                            return new ByteArrayInputStream(new byte[0]);
                        }
                    };
                }

                @Override
                public void commitBy(long deadline) {
                }

                @Override
                public MessageStore.StoreOutcome commit() {
                    if (commitMayEnd != null) {
                        try {
                            commitMayEnd.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    committed.incrementAndGet();
                    return new MessageStore.StoreOutcome.Stored(id);
                }

                @Override
                public MessageStore.StoreOutcome commit(MessageStore.TextRewrite rewrite) {
                    return commit();
                }

                @Override
                public void discard() {
                    discarded.incrementAndGet();
                }
            };
        }
    }

    private static void send(EmbeddedClient ch, String text) {
        ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        for (int i = 0; i < 5; i++) {
            ch.runPendingTasks();
        }
    }
}
