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
        AtomicInteger begun = new AtomicInteger();
        AtomicInteger committed = new AtomicInteger();
        AtomicInteger discarded = new AtomicInteger();
        MessageStore store = transaction -> new MessageStore.IncomingMessage() {
            private final String id = "Q" + begun.incrementAndGet();

            @Override
            public void write(byte[] b, int off, int len) {
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
            public MessageStore.StoreOutcome commit() {
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
        RecipientPolicy everyone = new RecipientPolicy() {
            @Override
            public RcptDecision decide(dev.mxd.smtp.Mailbox recipient, dev.mxd.mail.ClientInfo client) {
                return new RcptDecision.Accept(new Route.Relay(recipient.domain()));
            }

            @Override
            public Optional<dev.mxd.smtp.Mailbox> postmaster() {
                return Optional.empty();
            }
        };
        NoThreads pool = new NoThreads();
        EmbeddedClient ch = EmbeddedClient.connectedTo(new SmtpConnectionHandler("mx.example.test", Limits.DEFAULTS,
                new Timeouts(Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ZERO, Duration.ZERO, Duration.ofSeconds(10)),
                Optional.empty(), everyone, store, pool, (stage, code) -> { }, ClientNameLookup.NONE));
        ch.runPendingTasks();
        assertThat(ch.written()).startsWith("220 ");

        send(ch, "EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nDATA\r\n");
        assertThat(ch.written()).contains("354 ");
        send(ch, "Subject: t\r\n\r\nhi\r\n.\r\n");

        String reply = ch.written();
        assertThat(pool.refused.get()).isEqualTo(1);
        assertThat(reply).as("the reply to the end of DATA").startsWith("452 4.3.1 ");
        assertThat(committed.get()).as("nothing committed").isZero();
        assertThat(discarded.get()).as("the message discarded").isEqualTo(1);
        assertThat(ch.isActive()).as("the session goes on").isTrue();

        send(ch, "NOOP\r\n");
        assertThat(ch.written()).startsWith("250 ");
        ch.close();
    }

    private static void send(EmbeddedClient ch, String text) {
        ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        for (int i = 0; i < 5; i++) {
            ch.runPendingTasks();
        }
    }
}
