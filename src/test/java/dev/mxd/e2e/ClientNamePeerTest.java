package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.KnotServer;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.MaildirText;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 point 2: a client's name comes from a reverse lookup confirmed forward (FCrDNS), as
 * Postfix's smtpd finds it, {@code unknown} otherwise. Knot serves 127.in-addr.arpa and the
 * clients' forward zone; mxd asks it (dns.servers); the clients connect from 127.0.0.7, whose PTR
 * name leads back to it, and from 127.0.0.8, whose PTR name points elsewhere.
 */
@PeerTest
class ClientNamePeerTest {

    private static Path dir;
    private static KnotServer dns;

    @BeforeAll
    static void zones() throws Exception {
        dir = Files.createTempDirectory("mxd-client-names");
        Map<String, Path> zones = new LinkedHashMap<>();
        zones.put("127.in-addr.arpa", TestDirs.zone(dir, "127.in-addr.arpa",
                "7.0.0 IN PTR named.client.test.", "8.0.0 IN PTR liar.client.test."));
        zones.put("client.test", TestDirs.zone(dir, "client.test",
                "named IN A 127.0.0.7", "liar IN A 127.0.0.99"));
        dns = KnotServer.start(zones);
    }

    @AfterAll
    static void stop() {
        if (dns != null) {
            dns.close();
        }
        TestDirs.deleteTree(dir);
    }

    private static String dnsYaml(String more) {
        return "dns:\n  servers: [\"127.0.0.1:" + dns.port() + "\"]\n" + more + "timeouts:\n  greet-pause: 0s\n";
    }

    /** One session from {@code from}: an unknown user refused, then (when {@code deliver}) one message to alice. */
    private static void session(InetSocketAddress mx, String from, boolean deliver) throws Exception {
        try (RawSmtp c = new RawSmtp(mx, InetAddress.getByName(from))) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO client.test\r\n");
            assertThat(c.reply()).startsWith("250");
            c.send("MAIL FROM:<sender@client.test>\r\n");
            assertThat(c.reply()).startsWith("250");
            c.send("RCPT TO:<nobody@example.test>\r\n");
            assertThat(c.reply()).startsWith("550");
            if (deliver) {
                c.send("RCPT TO:<alice@example.test>\r\n");
                assertThat(c.reply()).startsWith("250");
                c.send("DATA\r\n");
                assertThat(c.code()).isEqualTo(354);
                c.send("Subject: named\r\n\r\nhello\r\n.\r\n");
                assertThat(c.reply()).startsWith("250");
            }
            c.send("QUIT\r\n");
            assertThat(c.reply()).startsWith("221");
        }
    }

    @Test
    void aConfirmedNameIsLoggedAndWrittenInReceivedAndAMismatchIsUnknown() throws Exception {
        Path work = Files.createTempDirectory(dir, "serve");
        int port = FreePort.tcpAndUdp("127.0.0.1");
        Path config = Files.writeString(work.resolve("mxd.yaml"), TestMx.yaml(work.resolve("data"), port, dnsYaml("")));
        Path log = work.resolve("mxd.log");
        InetSocketAddress smtp = new InetSocketAddress("127.0.0.1", port);
        try (MxdProcess mx = MxdProcess.serve(config, log)) {
            session(smtp, "127.0.0.7", true);
            session(smtp, "127.0.0.8", false);
            Await.within(Duration.ofSeconds(10), () -> Files.readString(log).contains("disconnect from unknown[127.0.0.8]"));
        }
        String text = Files.readString(log);
        assertThat(text).contains("connect from named.client.test[127.0.0.7]",
                "NOQUEUE: reject: RCPT from named.client.test[127.0.0.7]: 550 ",
                ": client=named.client.test[127.0.0.7], helo=<client.test>",
                "disconnect from named.client.test[127.0.0.7] ehlo=1 mail=1 rcpt=1/2 data=1 quit=1",
                "connect from unknown[127.0.0.8]", "NOQUEUE: reject: RCPT from unknown[127.0.0.8]: 550 ");
        assertThat(text).doesNotContain("liar.client.test");

        Path box = work.resolve("data/mail/example.test/alice/Maildir/new");
        List<Path> files;
        try (Stream<Path> s = Files.list(box)) {
            files = s.toList();
        }
        assertThat(files).hasSize(1);
        assertThat(MaildirText.read(files.get(0))).contains("\nReceived: from client.test (named.client.test [127.0.0.7])\n\tby ");

        // The packaged fail2ban filter finds the refusals whatever the name, and bans the address.
        String out = Fail2banFilterTest.fail2banRegex(log);
        assertThat(out).containsPattern("Failregex: 2 total").contains("127.0.0.7").contains("127.0.0.8");
    }

    @Test
    void withLookupsOffEveryClientIsUnknown() throws Exception {
        try (LogCapture capture = LogCapture.start(Level.INFO);
             TestMx mx = TestMx.start(dnsYaml("  client-name-lookup: off\n"))) {
            session(mx.smtp(), "127.0.0.7", true);
            Await.within(Duration.ofSeconds(10), () -> capture.lines().stream().anyMatch(l -> l.startsWith("disconnect from ")));
            assertThat(capture.lines()).contains("connect from unknown[127.0.0.7]").noneMatch(l -> l.contains("named.client.test"));
            assertThat(MaildirText.read(mx.awaitDelivered("alice", 1, Duration.ofSeconds(10)).get(0)))
                    .contains("\nReceived: from client.test ([127.0.0.7])\n");
        }
    }

    /**
     * A DNS server that never answers: each greeting waits for the bound (5 s), not longer, and
     * the clients are unknown. Ten clients at once are all greeted within it, so the wait holds
     * no event loop (a blocked one would greet the clients it serves one lookup after another).
     */
    @Test
    void aSilentDnsDelaysTheGreetingByTheBoundOnlyAndTheClientIsUnknown() throws Exception {
        try (java.net.DatagramSocket silent = new java.net.DatagramSocket(0, InetAddress.getByName("127.0.0.1"));
             LogCapture capture = LogCapture.start(Level.INFO);
             TestMx mx = TestMx.start("dns:\n  servers: [\"127.0.0.1:" + silent.getLocalPort() + "\"]\n")) {
            List<RawSmtp> clients = new java.util.ArrayList<>();
            try {
                long start = System.nanoTime();
                for (int i = 0; i < 10; i++) {
                    RawSmtp c = new RawSmtp(mx.smtp(), InetAddress.getByName("127.0.0." + (20 + i)));
                    c.socket().setSoTimeout(15_000);
                    clients.add(c);
                }
                for (RawSmtp c : clients) {
                    assertThat(c.code()).isEqualTo(220);
                }
                Duration waited = Duration.ofNanos(System.nanoTime() - start);
                assertThat(waited).isGreaterThanOrEqualTo(Duration.ofMillis(4500)).isLessThan(Duration.ofSeconds(8));
            } finally {
                for (RawSmtp c : clients) {
                    c.close();
                }
            }
            assertThat(capture.lines()).contains("connect from unknown[127.0.0.20]", "connect from unknown[127.0.0.29]");
        }
    }
}
