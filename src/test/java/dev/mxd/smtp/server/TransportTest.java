package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Route;
import dev.mxd.smtp.Mailbox;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.RawSmtp;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server on each transport: Linux's native epoll where its library is shipped (x86_64 and
 * aarch64), the JDK's NIO anywhere. Both must hand the session the client's address as it is:
 * 127.0.0.2 as an IPv4 address, ::1 without a scope ("::1%0" would not match trusted-networks
 * entries, and would end up in Received fields and logs).
 */
class TransportTest {

    @Test
    void linuxRunsTheServerOnEpoll() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        assumeTrue(os.contains("linux") && (arch.equals("amd64") || arch.equals("aarch64")), "the native library is shipped for Linux on x86_64 and aarch64");
        assertThat(Transport.preferred()).as("the native transport loads: %s", Transport.unavailability()).isEqualTo(Transport.EPOLL);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void theSessionSeesTheClientsAddressAsItIs(Transport transport) throws Exception {
        assumeTrue(transport != Transport.EPOLL || Transport.preferred() == Transport.EPOLL, "epoll is not available here");
        boolean ipv6 = ipv6Loopback();
        int v4 = FreePort.tcpAndUdp("127.0.0.1");
        String listen = "\"127.0.0.1:" + v4 + "\"" + (ipv6 ? ", \"[::1]:" + FreePort.tcpOn("::1") + "\"" : "");
        MxdConfig config = ConfigLoader.parse("hostname: mx.test\nlisten:\n  smtp: [" + listen + "]\n"
                + "timeouts:\n  greet-pause: 0s\n", Path.of("mxd.yaml"));
        List<ClientInfo> clients = new CopyOnWriteArrayList<>();
        RecipientPolicy policy = new RecipientPolicy() {
            @Override
            public RcptDecision decide(Mailbox recipient, ClientInfo client) {
                clients.add(client);
                return new RcptDecision.Accept(new Route.Relay(recipient.domain()));
            }

            @Override
            public Optional<Mailbox> postmaster() {
                return Optional.empty();
            }
        };
        MessageStore store = transaction -> {
            throw new AssertionError("no message is sent");
        };
        try (SmtpServer server = SmtpServer.start(config, policy, store, ClientNameLookup.NONE, transport)) {
            assertThat(server.transport()).isEqualTo(transport);
            List<InetSocketAddress> bound = server.addresses();
            assertThat(bound).hasSize(ipv6 ? 2 : 1);
            rcpt(bound.get(0), InetAddress.getByName("127.0.0.2"));
            if (ipv6) {
                rcpt(bound.get(1), InetAddress.getByName("::1"));
            }
        }
        assertThat(clients).hasSize(ipv6 ? 2 : 1);
        assertThat(clients.get(0).remote().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
        if (ipv6) {
            assertThat(clients.get(1).remote().getAddress().getHostAddress()).isEqualTo("0:0:0:0:0:0:0:1");
        }
    }

    private static void rcpt(InetSocketAddress server, InetAddress from) throws Exception {
        try (RawSmtp c = new RawSmtp(server, from)) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@far.test>\r\nQUIT\r\n");
            assertThat(c.reply()).startsWith("250");
            assertThat(c.reply()).startsWith("250 2.1.0");
            assertThat(c.reply()).startsWith("250 2.1.5");
            assertThat(c.reply()).startsWith("221");
        }
    }

    private static boolean ipv6Loopback() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
