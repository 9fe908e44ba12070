package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.Daemon;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * Issue 15, point 1: {@code mxd serve} and {@code mxd dns} as separate JVMs, sent real SIGTERM and
 * SIGHUP by their PID: a clean stop with 421 to an open session and exit 0; a reload that adds a
 * mailbox for open and new sessions; a broken file that keeps the old configuration; a renewed
 * certificate; the log file reopened after logrotate's rename; zones reloaded, a broken one kept.
 */
@PeerTest
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LifecycleSignalsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private Path dir;
    private int port;
    private Path config;
    private Path out;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("mxd-lifecycle");
        port = FreePort.tcpAndUdp("127.0.0.1");
        config = dir.resolve("mxd.yaml");
        out = dir.resolve("serve.out");
    }

    @AfterEach
    void tearDown() {
        TestDirs.deleteTree(dir);
    }

    private String yaml(String mailboxes, String extra) {
        return TestMx.yaml(dir.resolve("data"), port, "timeouts:\n  greet-pause: 0s\n" + extra)
                .replace("mailboxes: [alice, bob]", "mailboxes: [" + mailboxes + "]");
    }

    private InetSocketAddress smtp() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    private static void signal(long pid, String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).redirectErrorStream(true).start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).as("kill -%s %d", name, pid).isZero();
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static RawSmtp session(InetSocketAddress server) throws IOException {
        RawSmtp s = new RawSmtp(server);
        assertThat(s.reply()).startsWith("220");
        assertThat(s.send("EHLO client.test\r\n").reply()).startsWith("250");
        return s;
    }

    private static int rcpt(RawSmtp s, String to) throws IOException {
        return s.send("RCPT TO:<" + to + ">\r\n").code();
    }

    @Test
    void sigtermAnswersAnOpenSession421LogsTheStopAndExits0() throws Exception {
        Files.writeString(config, yaml("alice, bob", ""));
        MxdProcess serve = MxdProcess.serve(config, out);
        try (RawSmtp open = session(smtp())) {
            assertThat(open.send("MAIL FROM:<s@client.test>\r\n").code()).isEqualTo(250);
            signal(serve.pid(), "TERM");
            assertThat(open.reply()).startsWith("421");
        }
        assertThat(serve.terminate()).isZero();
        assertThat(read(out)).contains("stopping on SIGTERM").contains("stopped after");
    }

    @Test
    void sighupAddsAMailboxForASessionOpenBeforeAndOneOpenedAfter() throws Exception {
        Files.writeString(config, yaml("alice, bob", ""));
        try (MxdProcess serve = MxdProcess.serve(config, out); RawSmtp before = session(smtp())) {
            assertThat(before.send("MAIL FROM:<s@client.test>\r\n").code()).isEqualTo(250);
            assertThat(rcpt(before, "carol@example.test")).isEqualTo(550);

            Files.writeString(config, yaml("alice, bob, carol", ""));
            signal(serve.pid(), "HUP");
            assertThat(Await.within(WAIT, () -> read(out).contains("reload: " + config + " in use"))).as(read(out)).isTrue();

            assertThat(rcpt(before, "carol@example.test")).isEqualTo(250);
            try (RawSmtp after = session(smtp())) {
                assertThat(after.send("MAIL FROM:<s@client.test>\r\n").code()).isEqualTo(250);
                assertThat(rcpt(after, "carol@example.test")).isEqualTo(250);
            }
            assertThat(serve.terminate()).isZero(); // still running: HUP no longer kills it (it exited 129)
        }
    }

    /**
     * A SIGHUP while the node starts (logrotate's or systemd's reload right after a restart, during the
     * spool recovery) is answered by mxd, not by the JVM, which ended the process with status 129; a
     * SIGTERM in that window stops the node as soon as it runs, exit 0.
     */
    @Test
    void signalsWhileStartingAreAnsweredByMxd() throws Exception {
        Files.writeString(config, yaml("alice, bob", ""));
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main", "serve",
                "--config", config.toString()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertThat(Await.within(WAIT, () -> read(out).contains("mxd starting"))).as(read(out)).isTrue();
            signal(p.pid(), "HUP");
            assertThat(Await.within(WAIT, () -> read(out).contains("mxd serving") || !p.isAlive())).as(read(out)).isTrue();
            assertThat(p.isAlive()).as("HUP while starting must not end mxd: %s", read(out)).isTrue();
            // Whenever it came, the reload it asked for is done once mxd serves (a config edited just before is not lost).
            assertThat(Await.within(WAIT, () -> read(out).contains("reload: " + config + " in use"))).as(read(out)).isTrue();
            try (RawSmtp s = session(smtp())) {
                assertThat(s.send("QUIT\r\n").code()).isEqualTo(221);
            }
            signal(p.pid(), "TERM");
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * A SIGHUP from the moment the JVM runs mxd's main, while the configuration is read (before the node starts), is
     * remembered and the reload done once mxd serves: the JVM's own handler ended the process with status 129 and no
     * word. The signals are sent, every 50 ms, from the moment the JVM has loaded the hold's class (its class-loading
     * log says when main has begun; without the hold, the JVM's own handler is what answers them) until mxd says it is
     * starting.
     */
    @Test
    void aSighupWhileTheConfigurationIsReadDoesNotEndMxd() throws Exception {
        Files.writeString(config, yaml("alice, bob", ""));
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "-Xlog:class+load=info", "-cp", System.getProperty("java.class.path"),
                "dev.mxd.cli.Main", "serve", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertThat(Await.within(WAIT, () -> read(out).contains(" dev.mxd.cli.ServeCommand ") || !p.isAlive()))
                    .as("main has begun").isTrue();
            int sent = 0;
            for (int i = 0; i < 400 && p.isAlive() && !read(out).contains("mxd starting"); i++) {
                signal(p.pid(), "HUP");
                sent++;
                Thread.sleep(50);
            }
            assertThat(sent).as("signals sent before mxd started").isPositive();
            assertThat(Await.within(WAIT, () -> read(out).contains("mxd serving") || !p.isAlive())).as(read(out)).isTrue();
            assertThat(p.isAlive()).as("HUP while reading the configuration must not end mxd: %s", read(out)).isTrue();
            assertThat(Await.within(WAIT, () -> read(out).contains("reload: " + config + " in use"))).as(read(out)).isTrue();
            signal(p.pid(), "TERM");
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * Started under nohup (SIGHUP ignored), the JVM leaves SIGHUP ignored and takes no handler for it: a reload by
     * kill -HUP does nothing. mxd says so at start, where it said nothing and the operator took the reload for done.
     */
    @Test
    void startedWithSighupIgnoredItSaysReloadsCannotBeAskedBySignal() throws Exception {
        Files.writeString(config, yaml("alice, bob", ""));
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("nohup", javaBin, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main", "serve",
                "--config", config.toString()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertThat(Await.within(WAIT, () -> read(out).contains("mxd serving") || !p.isAlive())).as(read(out)).isTrue();
            assertThat(read(out)).contains("SIGHUP was ignored when mxd started").contains("kill -HUP does not reload");
            assertThat(read(out).split("SIGHUP was ignored", -1)).as("said once").hasSize(2);
            signal(p.pid(), "TERM");
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        } finally {
            p.destroyForcibly();
        }
        assertThat(read(out)).doesNotContain("SIGTERM was ignored");
    }

    @Test
    void sighupWithABrokenConfigurationKeepsTheOldOneAndLogsFileAndLine() throws Exception {
        Files.writeString(config, yaml("alice, bob", ""));
        try (MxdProcess serve = MxdProcess.serve(config, out)) {
            String broken = yaml("alice, bob, carol", "no-such-key: 1\n");
            int line = broken.lines().toList().indexOf("no-such-key: 1") + 1;
            Files.writeString(config, broken);
            signal(serve.pid(), "HUP");
            assertThat(Await.within(WAIT, () -> read(out).contains("reload: invalid configuration"))).as(read(out)).isTrue();
            assertThat(read(out)).contains(config + ":" + line + ":").doesNotContain("in use:");

            try (RawSmtp s = session(smtp())) {
                assertThat(s.send("MAIL FROM:<s@client.test>\r\n").code()).isEqualTo(250);
                assertThat(rcpt(s, "alice@example.test")).isEqualTo(250);
                assertThat(rcpt(s, "carol@example.test")).isEqualTo(550);
            }
            assertThat(serve.terminate()).isZero();
        }
    }

    @Test
    void sighupKeepsTheListenAddressAndSaysItNeedsARestart() throws Exception {
        Files.writeString(config, yaml("alice, bob", ""));
        try (MxdProcess serve = MxdProcess.serve(config, out)) {
            int other = FreePort.tcpAndUdp("127.0.0.1");
            Files.writeString(config, yaml("alice, bob, carol", "").replace("127.0.0.1:" + port, "127.0.0.1:" + other));
            signal(serve.pid(), "HUP");
            assertThat(Await.within(WAIT, () -> read(out).contains("reload: " + config + " in use"))).as(read(out)).isTrue();
            assertThat(read(out)).contains("listen.smtp changed in " + config + "; that needs a restart");
            try (RawSmtp s = session(smtp())) { // still on the address it started with, with the new mailbox
                assertThat(s.send("MAIL FROM:<s@client.test>\r\n").code()).isEqualTo(250);
                assertThat(rcpt(s, "carol@example.test")).isEqualTo(250);
            }
            assertThat(serve.terminate()).isZero();
        }
    }

    /**
     * SIGTERM in the middle of {@code mxd demo} (mx1 stopped, the sender resolving and failing over): the demo ends
     * at once with 143 and says a signal stopped it. Its hook once removed the nodes' files under the running burst
     * ("cannot list the spool"), and dnsjava's own shutdown hook could wait forever for a selector thread a query
     * had started meanwhile (one stop in five hung). Three stops, each while the burst runs.
     */
    @Test
    void sigtermStopsADemoMidRunAtOnceAndSaysSo() throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int run = 1; run <= 3; run++) {
            Path demoOut = dir.resolve("demo" + run + ".out");
            Daemon demo = Daemon.start("mxd demo", List.of(javaBin, "-cp", System.getProperty("java.class.path"),
                    "dev.mxd.cli.Main", "demo"), null, demoOut);
            try {
                demo.awaitReady(Duration.ofSeconds(60), () -> read(demoOut).contains("mx1 STOPS"));
                signal(demo.pid(), "TERM");
                assertThat(Await.within(WAIT, () -> !demo.isAlive())).as("run %d ended: %s", run, read(demoOut)).isTrue();
                assertThat(demo.exitValue()).as(read(demoOut)).isEqualTo(143);
                assertThat(read(demoOut)).as("run %d", run).doesNotContain("cannot run the cluster")
                        .doesNotContain("Exception");
            } finally {
                demo.stop(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void sighupServesARenewedCertificate() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Certificates.selfSigned(cert, key);
        BigInteger first = serial(cert);
        Files.writeString(config, yaml("alice, bob", "tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n"));
        try (MxdProcess serve = MxdProcess.serve(config, out)) {
            assertThat(servedSerial()).isEqualTo(first);

            Certificates.selfSigned(cert, key); // renewed in place, as certbot's deploy hook leaves it
            BigInteger renewed = serial(cert);
            assertThat(renewed).isNotEqualTo(first);
            signal(serve.pid(), "HUP");
            assertThat(Await.within(WAIT, Duration.ofMillis(200), () -> renewed.equals(servedSerial()))).as(read(out)).isTrue();

            Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"); // a botched renewal
            signal(serve.pid(), "HUP");
            assertThat(Await.within(WAIT, () -> read(out).contains("reload: invalid configuration"))).as(read(out)).isTrue();
            assertThat(read(out)).containsPattern(java.util.regex.Pattern.quote(config.toString()) + ":\\d+: tls: ");
            assertThat(servedSerial()).isEqualTo(renewed);
            assertThat(serve.terminate()).isZero();
        }
    }

    @Test
    void sighupReopensTheLogFileAfterLogrotateRenamedIt() throws Exception {
        Path log = dir.resolve("log").resolve("mxd.log");
        Files.writeString(config, yaml("alice, bob", "log:\n  file: " + log + "\n"));
        try (MxdProcess serve = MxdProcess.serve(config, out)) {
            Path rotated = log.resolveSibling("mxd.log.1");
            Files.move(log, rotated);
            Files.writeString(config, yaml("alice, bob", "log:\n  file: " + log + "\nnot-a-key: 1\n")); // broken meanwhile
            signal(serve.pid(), "HUP");
            // reopened first: the reload's word on the broken file is in the new log, where the operator looks next
            assertThat(Await.within(WAIT, () -> read(log).contains("reload: invalid configuration"))).as(read(rotated)).isTrue();
            assertThat(read(log)).contains("reopened").contains("SIGHUP: reloading").contains("not-a-key");
            assertThat(read(rotated)).doesNotContain("reopened").doesNotContain("SIGHUP").doesNotContain("invalid configuration");
            assertThat(serve.terminate()).isZero();
            assertThat(read(log)).contains("stopped after");
        }
    }

    @Test
    void mxdDnsReloadsEveryZoneOnSighupAndKeepsTheOldOneForAZoneThatDoesNotLoad() throws Exception {
        Path a = TestDirs.zone(dir, "a.test", "www IN A 192.0.2.1");
        Path b = TestDirs.zone(dir, "b.test", "www IN A 198.51.100.1");
        int dnsPort = FreePort.tcpAndUdp("127.0.0.1");
        Path dnsOut = dir.resolve("dns.out");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Daemon dns = Daemon.start("mxd dns", List.of(javaBin, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main",
                "dns", "--zone", a.toString(), "--zone", b.toString(), "--listen", "127.0.0.1:" + dnsPort), null, dnsOut);
        try {
            dns.awaitReady(Duration.ofSeconds(60), () -> read(dnsOut).contains("listening on"));
            assertThat(address(dnsPort, "www.a.test")).contains("192.0.2.1");

            TestDirs.zone(dir, "a.test", "www IN A 192.0.2.2");
            TestDirs.zone(dir, "b.test", "www IN A 198.51.100.2");
            signal(dns.pid(), "HUP");
            assertThat(Await.within(WAIT, () -> address(dnsPort, "www.a.test").equals(Optional.of("192.0.2.2"))
                    && address(dnsPort, "www.b.test").equals(Optional.of("198.51.100.2")))).as(read(dnsOut)).isTrue();

            Files.writeString(a, read(a).replace("www IN A 192.0.2.2", "www IN A 192.0.2.3\nbroken IN A not-an-address"));
            TestDirs.zone(dir, "b.test", "www IN A 198.51.100.3");
            signal(dns.pid(), "HUP");
            assertThat(Await.within(WAIT, () -> address(dnsPort, "www.b.test").equals(Optional.of("198.51.100.3")))).as(read(dnsOut))
                    .isTrue();
            assertThat(address(dnsPort, "www.a.test")).contains("192.0.2.2");
            assertThat(read(dnsOut)).contains("still serving the zone a.test. loaded before").contains(a + " line 7");

            dns.stop(Duration.ofSeconds(30));
            assertThat(dns.exitValue()).isZero();
        } finally {
            dns.stop(Duration.ofSeconds(5));
        }
    }

    /** The A record of {@code name} as mxd dns on {@code dnsPort} answers it, asked anew each time (no cache). */
    private static Optional<String> address(int dnsPort, String name) throws Exception {
        SimpleResolver r = new SimpleResolver(InetAddress.getLoopbackAddress());
        r.setPort(dnsPort);
        r.setTimeout(Duration.ofSeconds(2));
        Lookup l = new Lookup(name, Type.A);
        l.setResolver(r);
        l.setCache(null);
        Record[] rs = l.run();
        return rs == null || rs.length == 0 ? Optional.empty() : Optional.of(((ARecord) rs[0]).getAddress().getHostAddress());
    }

    private static BigInteger serial(Path pem) throws Exception {
        byte[] bytes = Files.readAllBytes(pem);
        return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(bytes)))
                .getSerialNumber();
    }

    /** The serial number of the certificate a new connection sees after STARTTLS. */
    private BigInteger servedSerial() throws Exception {
        try (RawSmtp s = session(smtp())) {
            assertThat(s.send("STARTTLS\r\n").code()).isEqualTo(220);
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                    // the test reads the certificate, it does not judge it
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            try (SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(s.socket(), "127.0.0.1", port, true)) {
                ssl.startHandshake();
                return ((X509Certificate) ssl.getSession().getPeerCertificates()[0]).getSerialNumber();
            }
        }
    }
}
