package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client that sends and never reads: its replies fill the socket's buffers, the session's last
 * reply (the 421 of the command timeout) can never be written, and a closing session's timers no
 * longer run. Before, the connection stayed open for ever (a way to use up the server's sockets,
 * since the connection limits stop counting a session they have asked to go). Now it is closed
 * once LastReply's deadline has passed.
 */
class LastReplyDeadlineTest {

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
}
