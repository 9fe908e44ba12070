package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.testing.Await;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.RawSmtp;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server's last reply on a connection (LastReply). A client that sends and never reads: its replies fill the socket's buffers, the session's last
 * reply (the 421 of the command timeout) can never be written, and a closing session's timers no
 * longer run. Before, the connection stayed open for ever (a way to use up the server's sockets,
 * since the connection limits stop counting a session they have asked to go). Now it is closed
 * once LastReply's deadline has passed.
 */
class LastReplyTest {

    private final Duration usual = LastReply.deadline;

    @AfterEach
    void restore() {
        LastReply.deadline = usual;
    }

    @Test
    void aClientThatNeverReadsIsClosedWhenTheLastReplyCannotBeWritten() throws Exception {
        LastReply.deadline = Duration.ofSeconds(2);
        int port = FreePort.tcpAndUdp("127.0.0.1");
        MxdConfig config = ConfigLoader.parse("hostname: mx.test\nlisten:\n  smtp: [\"127.0.0.1:" + port + "\"]\n"
                + "timeouts:\n  greet-pause: 0s\n  command: 1s\n", Path.of("mxd.yaml"));
        RecipientPolicy policy = new RelayEveryone();
        MessageStore store = transaction -> {
            throw new AssertionError("no message is sent");
        };
        try (SmtpServer server = SmtpServer.start(config, policy, store); Socket client = new Socket()) {
            client.setReceiveBufferSize(1024);
            client.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            Thread writer = new Thread(() -> {
                byte[] ehlo = "EHLO client.test\r\n".repeat(1_000).getBytes(StandardCharsets.US_ASCII);
                try {
                    OutputStream out = client.getOutputStream();
                    for (int i = 0; i < 200; i++) { // at most 3.6 MB; blocks once the server stops reading
                        out.write(ehlo);
                    }
                } catch (Exception closed) {
                    // the server closed the connection, or the test did
                }
            }, "never-reads");
            writer.setDaemon(true);
            writer.start();
            assertThat(Await.within(Duration.ofSeconds(5), () -> server.openConnections() == 1)).isTrue();
            assertThat(Await.within(Duration.ofSeconds(15), () -> server.openConnections() == 0))
                    .as("closed after the command timeout (1 s) and the last reply's deadline (2 s)").isTrue();
        }
    }

    /**
     * The last reply over TLS: 221 to QUIT, then TLS's own end (close_notify), then the end of the
     * stream. With the FIN first, OpenSSL's client saw "unexpected eof while reading" and no
     * close_notify (the JDK's client does not tell the two apart, so OpenSSL's is the witness).
     */
    @Test
    void quitOverTlsIsAnsweredAndTheTlsSessionEndedCleanly() throws Exception {
        Path dir = Files.createTempDirectory("mxd-transport-tls");
        try (TestMx mx = TestMx.startIn(dir, Certificates.tlsSection(dir))) {
            Process client = new ProcessBuilder("openssl", "s_client", "-starttls", "smtp", "-connect",
                    "127.0.0.1:" + mx.smtp().getPort(), "-msg", "-ign_eof").redirectErrorStream(true).start();
            client.getOutputStream().write("EHLO client.test\r\nQUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            client.getOutputStream().close();
            boolean ended = client.waitFor(20, TimeUnit.SECONDS);
            if (!ended) {
                client.destroyForcibly();
            }
            String seen = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(ended).as("openssl s_client ended when the server closed: %s", seen).isTrue();
            assertThat(seen).contains("221 2.0.0").doesNotContain("unexpected eof");
            assertThat(seen.substring(seen.indexOf("221 2.0.0"))).as("after the 221").containsPattern("<<< .*Alert.*close_notify");
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    /**
     * A client that ends its side (FIN) right after the end of its message and QUIT still gets the
     * 250 and the 221. (Netty's epoll transport sees that FIN while the message is being stored and
     * closed the connection then, so the 250 of a message that was kept never reached the client,
     * which would send it again: one reason the server stays on NIO, docs/performance.md.)
     */
    @Test
    void aClientThatEndsItsSideAfterQuitStillGetsItsReplies() throws Exception {
        try (TestMx mx = TestMx.start("timeouts:\n  greet-pause: 0s\n")) {
            for (int i = 0; i < 3; i++) {
                try (RawSmtp c = new RawSmtp(mx.smtp())) {
                    assertThat(c.code()).isEqualTo(220);
                    c.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                    assertThat(c.reply()).startsWith("250");
                    assertThat(c.reply()).startsWith("250");
                    assertThat(c.reply()).startsWith("250");
                    assertThat(c.reply()).startsWith("354");
                    c.send("Subject: t\r\n\r\nhello\r\n.\r\nQUIT\r\n");
                    c.socket().shutdownOutput();
                    assertThat(c.reply()).startsWith("250 2.0.0 OK queued as ");
                    assertThat(c.reply()).startsWith("221");
                    assertThat(c.closedByServer()).isTrue();
                }
            }
        }
    }
}
