package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Limits;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/**
 * The networks connections are counted by (limits.max-connections-per-network): an IPv4 /24 and
 * an IPv6 /64. Loopback has one IPv6 address, so the /64 is checked here rather than end to end
 * (SlowAndJunkClientsTest covers the /24 with real connections).
 */
class ConnectionLimiterTest {

    @Test
    void ipv4AddressesShareTheirSlash24() throws Exception {
        assertThat(ConnectionLimiter.network(InetAddress.getByName("192.0.2.77"))).isEqualTo(InetAddress.getByName("192.0.2.0"));
        assertThat(ConnectionLimiter.network(InetAddress.getByName("192.0.2.1")))
                .isEqualTo(ConnectionLimiter.network(InetAddress.getByName("192.0.2.254")))
                .isNotEqualTo(ConnectionLimiter.network(InetAddress.getByName("192.0.3.1")));
    }

    /**
     * The server stops (or sheds idle sessions) while a connection the limiter refused is still open, its 421 on the
     * way: its session never started, so nothing more is written to it, and no fault (a NullPointerException was
     * logged as an internal error).
     */
    @Test
    void aRefusedConnectionIsLeftAloneByAStopOrAShed() throws Exception {
        SmtpConnectionHandler session = session();
        EmbeddedClient ch = EmbeddedClient.refusedBefore(session);
        io.netty.channel.ChannelHandlerContext ctx = ch.pipeline().context(SmtpServer.SESSION);
        session.shed(ctx); // as the limiter's shed and the server's stop call them, on the event loop
        session.shutdown(ctx);
        ch.runPendingTasks();
        assertThat(ch.written()).isEmpty();
        assertThat(ch.isActive()).as("the refusal closes it, not the stop").isTrue();
        ch.close();
    }

    /**
     * A session's last reply (221): the session stops counting once the reply is out, and is never left open and
     * uncounted while the socket has not taken it (a client that does not read could otherwise hold sockets no limit
     * counts). SlowAndJunkClientsTest checks over real sockets that a sender reconnecting right after its 221 is greeted.
     */
    @Test
    void aSessionThatSentItsLastReplyNoLongerCounts() throws Exception {
        Limits one = new Limits(Limits.DEFAULTS.maxMessageSize(), 100, 500, 1, 100, 2048, 65536, 50, 100, 10, 20,
                Limits.DEFAULTS.minFreeSpace(), Limits.DEFAULTS.bareLf());
        ConnectionLimiter limiter = new ConnectionLimiter(one, java.time.Duration.ofSeconds(10), RejectionListener.NONE);
        EmbeddedClient first = EmbeddedClient.limitedBy(limiter, session());
        first.runPendingTasks();
        first.deliverWrites();
        assertThat(first.written()).startsWith("220 ");
        EmbeddedClient refused = EmbeddedClient.limitedBy(limiter, session());
        refused.runPendingTasks();
        refused.deliverWrites();
        assertThat(refused.written()).as("the limit holds while the first session is on").startsWith("421 4.7.0");

        quitWhileTheNetworkHoldsTheReply(first, limiter, "QUIT\r\n");
        assertThat(first.isActive()).isFalse();
        EmbeddedClient next = EmbeddedClient.limitedBy(limiter, session());
        next.runPendingTasks();
        next.deliverWrites();
        assertThat(next.written()).startsWith("220 ");
        assertThat(limiter.open()).isEqualTo(1);

        // The same with replies pipelined ahead of the 221
        quitWhileTheNetworkHoldsTheReply(next, limiter, "NOOP\r\nQUIT\r\n");
    }

    /**
     * {@code input} ends with QUIT; the network has not taken the 221 yet (the writes are held, as a client that does not
     * read holds them): the session is not left open uncounted, it counts until the reply is out or it is closed at once.
     */
    private static void quitWhileTheNetworkHoldsTheReply(EmbeddedClient ch, ConnectionLimiter limiter, String input) {
        ch.writeInbound(io.netty.buffer.Unpooled.copiedBuffer(input, java.nio.charset.StandardCharsets.US_ASCII));
        ch.runPendingTasks();
        assertThat(!ch.isActive() || limiter.open() == 1).as("no session open and uncounted").isTrue();
        ch.deliverWrites();
        assertThat(ch.written()).contains("221 ");
        assertThat(limiter.open()).isZero();
    }

    private static SmtpConnectionHandler session() {
        return new SmtpConnectionHandler("mx.example.test", Limits.DEFAULTS,
                new dev.mxd.config.Timeouts(java.time.Duration.ofMinutes(5), java.time.Duration.ofMinutes(10), java.time.Duration.ZERO,
                        java.time.Duration.ZERO, java.time.Duration.ofSeconds(10)),
                java.util.Optional.empty(), new RelayEveryone(), null, null, (stage, code) -> { }, ClientNameLookup.NONE);
    }

    @Test
    void ipv6AddressesShareTheirSlash64() throws Exception {
        assertThat(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:2:a:b:c:d")))
                .isEqualTo(InetAddress.getByName("2001:db8:1:2::"))
                .isEqualTo(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:2:ffff::1")))
                .isNotEqualTo(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:3:a:b:c:d")));
    }

    /**
     * One client for max-connections-per-ip is an IPv4 address or an IPv6 /84, as Postfix 3.8 on counts them: a host
     * with a /64 took a fresh address for each connection and was bound by the per-network limit alone.
     */
    @Test
    void anIpv6ClientIsItsSlash84() throws Exception {
        assertThat(ConnectionLimiter.clientKey(InetAddress.getByName("2001:db8:1:2:a:b:c:d")))
                .isEqualTo(InetAddress.getByName("2001:db8:1:2:a::"))
                .isEqualTo(ConnectionLimiter.clientKey(InetAddress.getByName("2001:db8:1:2:a:fff:1:2")))
                .isNotEqualTo(ConnectionLimiter.clientKey(InetAddress.getByName("2001:db8:1:2:a:1000::1")));
        assertThat(ConnectionLimiter.clientKey(InetAddress.getByName("192.0.2.7"))).isEqualTo(InetAddress.getByName("192.0.2.7"));
        assertThat(ConnectionLimiter.network(InetAddress.getByName("192.0.2.7"))).isEqualTo(InetAddress.getByName("192.0.2.0"));
    }
}
