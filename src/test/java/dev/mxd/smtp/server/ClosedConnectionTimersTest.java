package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Limits;
import dev.mxd.config.Timeouts;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
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

    /** An embedded channel with a client's Internet address, as the session wants one. */
    private static final class Client extends EmbeddedChannel {
        Client() {
            super(false, false);
        }

        @Override
        protected SocketAddress remoteAddress0() {
            return new InetSocketAddress("127.0.0.1", 40000);
        }
    }

    private static Client connected(ClientNameLookup names) throws Exception {
        return connected(names, Duration.ZERO);
    }

    private static Client connected(ClientNameLookup names, Duration greetPause) throws Exception {
        Client ch = new Client();
        Limits limits = Limits.DEFAULTS;
        ch.pipeline().addLast(SmtpServer.IDLE, SmtpServer.noIdleTimer());
        ch.pipeline().addLast(SmtpServer.DECODER, new SmtpFrameDecoder(limits.maxLineLength(), limits.bareLf()));
        ch.pipeline().addLast(SmtpServer.SESSION, new SmtpConnectionHandler("mx.example.test", limits,
                new Timeouts(Duration.ofMinutes(5), Duration.ofMinutes(10), greetPause, Duration.ZERO, Duration.ofSeconds(10)), Optional.empty(), null, null, null,
                (stage, code) -> { }, names));
        ch.register();
        return ch;
    }

    private static String written(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        for (ByteBuf b; (b = ch.readOutbound()) != null; b.release()) {
            out.append(b.toString(StandardCharsets.US_ASCII));
        }
        return out.toString();
    }

    /**
     * The client goes away (FIN or RST): the transport closes the channel itself, as NIO does on
     * end of stream. EmbeddedChannel's own close() would cancel every timer and hide a leak.
     */
    private static void hangUp(Client ch) {
        ch.unsafe().close(ch.voidPromise());
        ch.runPendingTasks();
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void aClientThatHangsUpLeavesNoTimerBehind() throws Exception {
        Client ch = connected(ClientNameLookup.NONE);
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
        Client ch = connected(address -> new CompletableFuture<>()); // the lookup never answers
        ch.runPendingTasks();
        assertThat(written(ch)).as("no greeting before the name is settled").isEmpty();
        hangUp(ch);
        assertThat(ch.runScheduledPendingTasks()).as("nanoseconds to the next timer; -1: none").isEqualTo(-1);
    }

    @Test
    void aClientGoneDuringTheGreetPauseLeavesNoTimerBehind() throws Exception {
        Client ch = connected(ClientNameLookup.NONE, Duration.ofSeconds(30)); // an operator's long pause
        ch.runPendingTasks();
        assertThat(written(ch)).as("the first greeting line only").isEqualTo("220-mx.example.test ESMTP mxd\r\n");
        hangUp(ch);
        assertThat(ch.runScheduledPendingTasks()).as("nanoseconds to the next timer; -1: none").isEqualTo(-1);
    }
}
