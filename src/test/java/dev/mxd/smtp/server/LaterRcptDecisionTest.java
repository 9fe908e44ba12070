package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.Replies;
import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.RawSmtp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A RCPT whose decision completes later (a callout): the session reads nothing after it until the
 * decision is there, so pipelined replies keep their order whatever order the decisions complete in,
 * and the event loop serves other connections meanwhile.
 */
class LaterRcptDecisionTest {

    /** The decision for each local part, completed by the test. */
    private final Map<String, CompletableFuture<RcptDecision>> pending = new ConcurrentHashMap<>();
    private SmtpServer server;

    private CompletableFuture<RcptDecision> decision(String local) {
        return pending.computeIfAbsent(local, k -> new CompletableFuture<>());
    }

    @BeforeEach
    void start() throws Exception {
        server = start("timeouts:\n  greet-pause: 0s\n");
    }

    private SmtpServer start(String yaml) throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        MxdConfig config = ConfigLoader.parse("hostname: mx.test\nlisten:\n  smtp: [\"127.0.0.1:" + port + "\"]\n"
                + yaml, Path.of("mxd.yaml"));
        RecipientPolicy policy = new RecipientPolicy() {
            @Override
            public RcptDecision decide(Mailbox recipient, ClientInfo client) {
                throw new AssertionError("the session asks decideForClient");
            }

            @Override
            public CompletionStage<RcptDecision> decideForClient(Mailbox recipient, ClientInfo client) {
                return decision(recipient.localKey());
            }

            @Override
            public Optional<Mailbox> postmaster() {
                return Optional.empty();
            }
        };
        MessageStore store = transaction -> {
            throw new AssertionError("no message is sent");
        };
        return SmtpServer.start(config, policy, store);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static RcptDecision accept() {
        return new RcptDecision.Accept(new Route.Relay("later.test"));
    }

    @Test
    void pipelinedRepliesKeepTheirOrderWhenDecisionsCompleteInAnotherOrder() throws Exception {
        try (RawSmtp c = new RawSmtp(server.addresses().get(0)); RawSmtp other = new RawSmtp(server.addresses().get(0))) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<first@later.test>\r\nRCPT TO:<second@later.test>\r\n"
                    + "RCPT TO:<third@later.test>\r\nNOOP\r\n");
            assertThat(c.reply()).startsWith("250");
            assertThat(c.reply()).startsWith("250 2.1.0");
            assertThat(Await.within(Duration.ofSeconds(5), () -> pending.containsKey("first"))).isTrue();
            // first's decision is pending: the other connection is served meanwhile.
            assertThat(other.code()).isEqualTo(220);
            other.send("NOOP\r\n");
            assertThat(other.reply()).startsWith("250");
            decision("third").complete(accept()); // completed before it is even asked
            decision("second").complete(new RcptDecision.Refuse(Replies.unknownUser("second@later.test")));
            decision("first").complete(accept());
            assertThat(c.reply()).startsWith("250 2.1.5");
            assertThat(c.reply()).startsWith("550 5.1.1 <second@later.test>");
            assertThat(c.reply()).startsWith("250 2.1.5");
            assertThat(c.reply()).startsWith("250"); // NOOP, after the RCPTs
        }
    }

    @Test
    void aDecisionThatFailsIsATemporaryRefusal() throws Exception {
        try (RawSmtp c = new RawSmtp(server.addresses().get(0))) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<broken@later.test>\r\n");
            assertThat(c.reply()).startsWith("250");
            assertThat(c.reply()).startsWith("250");
            assertThat(Await.within(Duration.ofSeconds(5), () -> pending.containsKey("broken"))).isTrue();
            decision("broken").completeExceptionally(new IllegalStateException("a bug"));
            assertThat(c.reply()).startsWith("451 4.3.0");
        }
    }

    @Test
    void aSessionWaitingForItsDecisionIsNotShedAsIdleUnderConnectionPressure() throws Exception {
        try (SmtpServer full = start("limits:\n  max-connections: 1\n"
                + "timeouts:\n  greet-pause: 0s\n  command-under-pressure: 1s\n");
             RawSmtp waiting = new RawSmtp(full.addresses().get(0))) {
            assertThat(waiting.code()).isEqualTo(220);
            waiting.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<slow@later.test>\r\n");
            assertThat(waiting.reply()).startsWith("250");
            assertThat(waiting.reply()).startsWith("250");
            assertThat(Await.within(Duration.ofSeconds(5), () -> pending.containsKey("slow"))).isTrue();
            Thread.sleep(1_500); // longer than command-under-pressure: an idle session would now be shed
            try (RawSmtp newcomer = new RawSmtp(full.addresses().get(0))) {
                assertThat(newcomer.reply()).as("the newcomer, not the session waiting on this server, is refused").startsWith("421");
            }
            decision("slow").complete(accept());
            assertThat(waiting.reply()).startsWith("250 2.1.5");
            waiting.send("QUIT\r\n");
            assertThat(waiting.reply()).startsWith("221");
        }
    }
}
