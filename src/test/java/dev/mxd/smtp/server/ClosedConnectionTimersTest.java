package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Limits;
import dev.mxd.config.Timeouts;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A connection's timers end with it. Every pending timer holds the connection's handler, and with it
 * the session and its buffers, until it fires: the command timer fires after timeouts.command (five
 * minutes), so a timer left behind kept every closed connection in memory that long (at a few
 * hundred connections a second, gigabytes of heap). The pipeline runs in an EmbeddedChannel, whose
 * event loop shows what is still scheduled.
 */
class ClosedConnectionTimersTest {

    private static EmbeddedClient connected(ClientNameLookup names) throws Exception {
        return connected(names, Duration.ZERO);
    }

    private static EmbeddedClient connected(ClientNameLookup names, Duration greetPause) throws Exception {
        return EmbeddedClient.connectedTo(new SmtpConnectionHandler("mx.example.test", Limits.DEFAULTS,
                new Timeouts(Duration.ofMinutes(5), Duration.ofMinutes(10), greetPause, Duration.ZERO, Duration.ofSeconds(10)), Optional.empty(), new RelayEveryone(), null, null,
                (stage, code) -> { }, names));
    }

    private static String written(EmbeddedClient ch) {
        return ch.written();
    }

    /**
     * The client goes away (FIN or RST): the transport closes the channel itself, as NIO does on
     * end of stream. EmbeddedChannel's own close() would cancel every timer and hide a leak.
     */
    private static void hangUp(EmbeddedClient ch) {
        ch.unsafe().close(ch.voidPromise());
        ch.runPendingTasks();
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void aClientThatHangsUpLeavesNoTimerBehind() throws Exception {
        EmbeddedClient ch = connected(ClientNameLookup.NONE);
        ch.runPendingTasks();
        assertThat(written(ch)).startsWith("220 mx.example.test");
        ch.writeInbound(Unpooled.copiedBuffer("EHLO client.test\r\n", StandardCharsets.US_ASCII));
        ch.runPendingTasks();
        assertThat(written(ch)).startsWith("250-mx.example.test");
        assertThat(ch.runScheduledPendingTasks()).as("the command timer runs while the session is open").isPositive();

        hangUp(ch);
        assertThat(ch.runScheduledPendingTasks()).as("nanoseconds to the next timer; -1: none").isEqualTo(-1);
    }

    @Test
    void aClientGoneBeforeItsNameIsKnownLeavesNoTimerBehind() throws Exception {
        EmbeddedClient ch = connected(address -> new CompletableFuture<>()); // the lookup never answers
        ch.runPendingTasks();
        assertThat(written(ch)).as("no greeting before the name is settled").isEmpty();
        hangUp(ch);
        assertThat(ch.runScheduledPendingTasks()).as("nanoseconds to the next timer; -1: none").isEqualTo(-1);
    }

    @Test
    void aClientGoneDuringTheGreetPauseLeavesNoTimerBehind() throws Exception {
        EmbeddedClient ch = connected(ClientNameLookup.NONE, Duration.ofSeconds(30)); // an operator's long pause
        ch.runPendingTasks();
        assertThat(written(ch)).as("the first greeting line only").isEqualTo("220-mx.example.test ESMTP mxd\r\n");
        hangUp(ch);
        assertThat(ch.runScheduledPendingTasks()).as("nanoseconds to the next timer; -1: none").isEqualTo(-1);
    }
}
