package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import dev.mxd.testing.FreePort;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import picocli.CommandLine;

/**
 * {@code mxd dns}: what it prints and serves, and its start-up failures with the exit status and
 * the message an operator reads. The timeout
 * interrupts a command that wrongly started serving; the command then stops its server.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
public class DnsCommandTest {

    static final String ZONES = "src/test/resources/zones/server/";

    /** A free port, so that a broken check that lets the server start does not collide with anything. */
    static String freeListen() {
        return "127.0.0.1:" + FreePort.tcpAndUdp("127.0.0.1");
    }

    /** What one in-process run of the command line printed and returned; the e2e tests use it too. */
    public record Run(int status, String out, String err) {}

    public static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(Main.configAfterSubcommand(args)); // as Main.run reads a command line
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void badZoneFileExits65WithFileLineAndReason() {
        Run r = run("dns", "--zone", ZONES + "relative.test.zone", "--zone", ZONES + "bad.zone", "--listen", freeListen());
        assertThat(r.status()).isEqualTo(65);
        assertThat(r.err()).isEqualTo("mxd dns: " + ZONES + "bad.zone line 7: expected an integer" + System.lineSeparator());
        assertThat(r.out()).isEmpty(); // nothing is served when one zone is wrong
    }

    @Test
    void cnameBesideOtherDataExits65WithFileAndLine() {
        Run r = run("dns", "--zone", ZONES + "alias-conflict.test.zone", "--listen", freeListen());
        assertThat(r.status()).isEqualTo(65);
        assertThat(r.err()).isEqualTo("mxd dns: " + ZONES + "alias-conflict.test.zone line 10: www.alias-conflict.test. has a"
                + " CNAME and MX data; an alias can have no other data (RFC 1034 §3.6.2): remove one of them"
                + System.lineSeparator());
        assertThat(r.out()).isEmpty();
    }

    @Test
    void zoneWithoutSoaExits65() {
        Run r = run("dns", "--zone", ZONES + "nosoa.zone", "--listen", freeListen());
        assertThat(r.status()).isEqualTo(65);
        assertThat(r.err()).startsWith("mxd dns: " + ZONES + "nosoa.zone: no SOA record");
    }

    @Test
    void missingZoneFileExits65() {
        Run r = run("dns", "--zone", ZONES + "does-not-exist.zone");
        assertThat(r.status()).isEqualTo(65);
        assertThat(r.err()).contains("does-not-exist.zone: no such file");
    }

    @Test
    void zoneIsRequired() {
        Run r = run("dns");
        assertThat(r.status()).isEqualTo(64);
        assertThat(r.err()).contains("--zone");
    }

    @Test
    void badListenAddressIsAUsageError() {
        Run r = run("dns", "--zone", ZONES + "srv.test.zone", "--listen", "127.0.0.1:99999");
        assertThat(r.status()).isEqualTo(64);
        assertThat(r.err()).contains("--listen").contains("port");
    }

    @Test
    void badRateLimitOrSlipIsAUsageError() {
        Run r = run("dns", "--zone", ZONES + "srv.test.zone", "--rate-limit", "-1", "--listen", freeListen());
        assertThat(r.status()).isEqualTo(64);
        assertThat(r.err()).contains("--rate-limit -1 --slip 1: the rate limit must be 0 (off)");
        Run s = run("dns", "--zone", ZONES + "srv.test.zone", "--slip", "101", "--listen", freeListen());
        assertThat(s.status()).isEqualTo(64);
        assertThat(s.err()).contains("slip must be 0 (never truncate) to 100, not 101");
    }

    @Test
    void helpDescribesTheRateLimit() {
        Run r = run("dns", "--help");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("--rate-limit=N").contains("--slip=N").contains("default 20").contains("default 1)")
                .contains("TCP is never limited");
    }

    /**
     * {@code mxd dns} as a user starts it, asked the same MX question 300 times one after another (a test harness
     * checking the shuffle, a resolver's retries): every question is answered, over TCP where the default limit
     * truncates. With the first limited answer dropped (the earlier default slip 2), one question in 21 waited out
     * the client's timeout and failed here.
     */
    @Test
    void aClientAskingOneQuestionAfterAnotherIsAnsweredEveryTimeUnderTheDefaultLimit() throws Exception {
        try (Serving s = Serving.start("dns", "--zone", ZONES + "relative.test.zone")) {
            SimpleResolver resolver = new SimpleResolver(new InetSocketAddress("127.0.0.1", s.port()));
            resolver.setTimeout(Duration.ofSeconds(5)); // a dropped answer never comes, and the class's 20 s would not fit four
            Message query = Message.newQuery(Record.newRecord(Name.fromConstantString("relative.test."), Type.MX, DClass.IN));
            int answered = 0;
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                try {
                    Message answer = resolver.send(query);
                    if (answer.getRcode() == Rcode.NOERROR && answer.getSection(Section.ANSWER).size() == 1) {
                        answered++;
                    } else {
                        failures.add(i + ": " + Rcode.string(answer.getRcode()));
                    }
                } catch (IOException timeout) {
                    failures.add(i + ": " + timeout);
                }
            }
            assertThat(failures).as("questions not answered").isEmpty();
            assertThat(answered).isEqualTo(300);
        }
    }

    @Test
    void rateLimitOffIsNotAnnounced() throws Exception {
        try (Serving s = Serving.start("dns", "--zone", ZONES + "relative.test.zone", "--rate-limit", "0")) {
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> s.out().toString().contains("(UDP and TCP)"));
            assertThat(s.out().toString()).doesNotContain("rate limit");
        }
    }

    @Test
    void portInUseExits75() throws Exception {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            Run r = run("dns", "--zone", ZONES + "srv.test.zone", "--listen", "127.0.0.1:" + taken.getLocalPort());
            assertThat(r.status()).isEqualTo(75);
            assertThat(r.err()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort());
        }
    }

    @Test
    void servesItsZonesUntilStopped() throws Exception {
        int port = FreePort.tcpAndUdp("127.0.0.1");
        StringWriter out = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        AtomicInteger status = new AtomicInteger(-1);
        Thread serving = new Thread(() -> status.set(cl.execute("dns", "--zone", ZONES + "srv.test.zone",
                "--zone", ZONES + "relative.test.zone", "--listen", "127.0.0.1:" + port)), "mxd-dns-command-test");
        serving.start();
        try {
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> out.toString().contains("rate limit"));
            assertThat(out.toString()).isEqualTo(String.join(System.lineSeparator(),
                    "zone srv.test.: 88 records from " + ZONES + "srv.test.zone",
                    "zone relative.test.: 5 records from " + ZONES + "relative.test.zone",
                    "listening on 127.0.0.1:" + port + " (UDP and TCP)",
                    "rate limit: 20 UDP answers a second per client network, slip 1", ""));
            SimpleResolver resolver = new SimpleResolver(new InetSocketAddress("127.0.0.1", port));
            resolver.setTimeout(Duration.ofSeconds(2));
            Message answer = resolver.send(Message.newQuery(
                    Record.newRecord(Name.fromConstantString("relative.test."), Type.MX, DClass.IN)));
            assertThat(answer.getRcode()).isEqualTo(Rcode.NOERROR);
            assertThat(answer.getSection(Section.ANSWER)).hasSize(1);
        } finally {
            serving.interrupt();
            serving.join(5_000);
        }
        assertThat(serving.isAlive()).isFalse();
        assertThat(status.get()).isZero();
        try (DatagramSocket again = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
            assertThat(again.getLocalPort()).isEqualTo(port); // the socket was closed on the way out
        }
    }

    /** {@code mxd dns} running in a thread of this JVM; closing it interrupts the command, which stops its server. */
    record Serving(Thread thread, StringWriter out, StringWriter err, AtomicInteger status, int port) implements AutoCloseable {
        static Serving start(String... args) {
            int port = FreePort.tcpAndUdp("127.0.0.1");
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            AtomicInteger status = new AtomicInteger(-1);
            String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
                    java.util.stream.Stream.of("--listen", "127.0.0.1:" + port)).toArray(String[]::new);
            Thread t = new Thread(() -> status.set(cl.execute(all)), "mxd-dns-command-test");
            t.start();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> out.toString().contains("listening on") || !t.isAlive());
            return new Serving(t, out, err, status, port);
        }

        @Override
        public void close() throws InterruptedException {
            thread.interrupt();
            thread.join(5_000);
        }
    }

    @Test
    void rrsetWithMixedTtlsIsServedAtTheLowestWithAWarning() throws Exception {
        try (Serving s = Serving.start("dns", "--zone", ZONES + "mixed-ttl.test.zone")) {
            assertThat(s.out().toString()).contains("listening on");
            assertThat(s.err().toString()).isEqualTo("mxd dns: warning: " + ZONES + "mixed-ttl.test.zone line 6:"
                    + " mx1.mixed-ttl.test. A has records with TTLs 60, 600; an RRset has one TTL (RFC 2181 §5.2),"
                    + " so all are served with 60" + System.lineSeparator());
            SimpleResolver resolver = new SimpleResolver(new InetSocketAddress("127.0.0.1", s.port()));
            resolver.setTimeout(Duration.ofSeconds(2));
            Message answer = resolver.send(Message.newQuery(
                    Record.newRecord(Name.fromConstantString("mx1.mixed-ttl.test."), Type.A, DClass.IN)));
            assertThat(answer.getSection(Section.ANSWER)).hasSize(2).allSatisfy(r -> assertThat(r.getTTL()).isEqualTo(60));
        }
    }
}
