package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

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
        SmtpConnectionHandler session = new SmtpConnectionHandler("mx.example.test", dev.mxd.config.Limits.DEFAULTS,
                new dev.mxd.config.Timeouts(java.time.Duration.ofMinutes(5), java.time.Duration.ofMinutes(10), java.time.Duration.ZERO,
                        java.time.Duration.ZERO, java.time.Duration.ofSeconds(10)),
                java.util.Optional.empty(), new RelayEveryone(), null, null, (stage, code) -> { }, ClientNameLookup.NONE);
        EmbeddedClient ch = EmbeddedClient.refusedBefore(session);
        io.netty.channel.ChannelHandlerContext ctx = ch.pipeline().context(SmtpServer.SESSION);
        session.shed(ctx); // as the limiter's shed and the server's stop call them, on the event loop
        session.shutdown(ctx);
        ch.runPendingTasks();
        assertThat(ch.written()).isEmpty();
        assertThat(ch.isActive()).as("the refusal closes it, not the stop").isTrue();
        ch.close();
    }

    @Test
    void ipv6AddressesShareTheirSlash64() throws Exception {
        assertThat(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:2:a:b:c:d")))
                .isEqualTo(InetAddress.getByName("2001:db8:1:2::"))
                .isEqualTo(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:2:ffff::1")))
                .isNotEqualTo(ConnectionLimiter.network(InetAddress.getByName("2001:db8:1:3:a:b:c:d")));
    }
}
