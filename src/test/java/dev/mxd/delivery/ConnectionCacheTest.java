package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.OutboundEnvelope;
import dev.mxd.smtp.client.MessageContent;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.OutboundRecipient;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.TlsPolicy;
import dev.mxd.smtp.client.TransactionResult;
import dev.mxd.testing.FakeSmtpServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConnectionCacheTest {

    private static SmtpConnection open(FakeSmtpServer server) {
        OpenResult r = SmtpConnection.open(server.address(), "fake.test",
                ClientSettings.defaults("mxd.test").withTls(TlsPolicy.NONE).withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(5))));
        return ((OpenResult.Ready) r).connection();
    }

    private static void send(SmtpConnection c) {
        TransactionResult r = c.send(OutboundEnvelope.of("a@x.test", List.of(OutboundRecipient.of("b@y.test")),
                MessageContent.of("Subject: x\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII))));
        assertThat(r).isInstanceOf(TransactionResult.Completed.class);
    }

    /** A new connection that carried one message and was given back to the cache. */
    private static SmtpConnection sentAndKept(FakeSmtpServer server, ConnectionCache cache) {
        SmtpConnection c = open(server);
        send(c);
        cache.release(server.address(), c);
        return c;
    }

    private static void assertClosedNotReused(FakeSmtpServer server, ConnectionCache cache, SmtpConnection c) {
        assertThat(cache.take(server.address())).isEmpty();
        assertThat(c.reusable()).as("closed, not left open").isFalse();
    }

    @Test
    void aConnectionIsReusedForTheNextMessageToTheSameAddress() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 fake.test ESMTP", List.of("PIPELINING"), c -> null);
             ConnectionCache cache = new ConnectionCache(Duration.ofSeconds(10), Duration.ofMinutes(5), 100, 4)) {
            SmtpConnection first = open(server);
            send(first);
            cache.release(server.address(), first);
            SmtpConnection again = cache.take(server.address()).orElseThrow();
            assertThat(again).isSameAs(first);
            send(again);
            assertThat(server.commands("EHLO")).hasSize(1); // one session carried both messages
            assertThat(cache.take(server.address())).isEmpty();
            again.close();
        }
    }

    /**
     * A server that answers the final dot twice: the second reply waits unread while the connection is idle. Reused,
     * every reply of the next message would answer the command before it (a 550 for one recipient failing the next);
     * the cache closes it instead.
     */
    @Test
    void aConnectionTheServerSpokeOnWhileIdleIsClosedNotReused() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 fake.test ESMTP", List.of("PIPELINING"),
                     c -> c.equals(".") ? "250 2.0.0 Ok\r\n250 2.0.0 Ok, again" : null);
             ConnectionCache cache = new ConnectionCache(Duration.ofSeconds(10), Duration.ofMinutes(5), 100, 4)) {
            SmtpConnection c = sentAndKept(server, cache);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(c::sentUnasked);
            assertClosedNotReused(server, cache, c);
        }
    }

    @Test
    void anIdleConnectionPastTheLimitIsClosedNotReused() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 fake.test ESMTP", List.of(), c -> null);
             ConnectionCache cache = new ConnectionCache(Duration.ofMillis(50), Duration.ofMinutes(5), 100, 4)) {
            SmtpConnection c = sentAndKept(server, cache);
            Thread.sleep(120); // past the 50 ms idle limit: the time passing is what is under test
            assertClosedNotReused(server, cache, c);
        }
    }

    @Test
    void aConnectionThatCarriedItsShareIsClosed() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 fake.test ESMTP", List.of(), c -> null);
             ConnectionCache cache = new ConnectionCache(Duration.ofSeconds(10), Duration.ofMinutes(5), 1, 4)) {
            SmtpConnection c = sentAndKept(server, cache);
            assertClosedNotReused(server, cache, c);
        }
    }

    @Test
    void aConnectionPastTheReuseTimeLimitIsClosedWhateverItCarried() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 fake.test ESMTP", List.of(), c -> null);
             ConnectionCache cache = new ConnectionCache(Duration.ofSeconds(10), Duration.ofSeconds(1), 0, 4)) {
            SmtpConnection young = sentAndKept(server, cache);
            assertThat(cache.take(server.address())).as("no count limit, within the time limit").containsSame(young);
            Thread.sleep(1200); // past the 1 s reuse limit since it was initiated: the time passing is what is under test
            cache.release(server.address(), young);
            assertClosedNotReused(server, cache, young);

            SmtpConnection idling = sentAndKept(server, cache);
            Thread.sleep(1200); // it reaches the limit while idle in the cache
            assertClosedNotReused(server, cache, idling);
        }
    }

    @Test
    void withoutACountLimitAConnectionCarriesManyMessages() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 fake.test ESMTP", List.of(), c -> null);
             ConnectionCache cache = new ConnectionCache(Duration.ofSeconds(10), Duration.ofMinutes(5), 0, 4)) {
            SmtpConnection c = open(server);
            for (int i = 0; i < 1200; i++) {
                send(c);
                cache.release(server.address(), c);
                c = cache.take(server.address()).orElseThrow();
            }
            assertThat(c.transactions()).isEqualTo(1200);
            assertThat(server.commands("EHLO")).hasSize(1);
            c.close();
        }
    }

    /**
     * An idle connection to an address no later mail goes to is closed by the sweep (QUIT said),
     * not kept with its socket and buffers until shutdown.
     */
    @Test
    void idleConnectionsAreSweptWithoutALaterTake() throws Exception {
        try (FakeSmtpServer server = FakeSmtpServer.start("220 fake.test ESMTP", List.of(), c -> null);
             ConnectionCache cache = new ConnectionCache(Duration.ofMillis(100), Duration.ofMinutes(5), 100, 4)) {
            SmtpConnection c = sentAndKept(server, cache); // kept, then past the limit at the next sweep
            // The sweep takes it out of the cache, then says QUIT and closes it (outside the cache's lock).
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> cache.size() == 0 && !server.commands("QUIT").isEmpty() && !c.reusable());
        }
    }
}
