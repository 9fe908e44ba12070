package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
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
        RecipientPolicy policy = new RelayEveryone(clients::add);
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
