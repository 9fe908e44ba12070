package dev.mxd.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.mail.Route;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.tls.HostTls;
import dev.mxd.tls.TlsReportCounts;
import dev.mxd.tls.TlsResults;
import dev.mxd.tls.TlsRptRecord;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sending TLS-RPT reports (RFC 8460 §5): by mail as §5.3 says, by POST with retries, only for ended days. */
class TlsReportSenderTest {

    @TempDir
    Path dir;

    private Instant now = Instant.parse("2026-12-03T15:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    private record Posted(URI uri, byte[] body) {}

    private static JsonNode json(byte[] gzipped) throws IOException {
        return new ObjectMapper().readTree(new GZIPInputStream(new ByteArrayInputStream(gzipped)));
    }

    @Test
    void anEndedDaysReportGoesToEachRuaByMailAndPostAndIsForgotten() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        List<Posted> posted = new ArrayList<>();
        Map<String, TlsRptRecord> records = Map.of("example.org",
                TlsRptRecord.parse("v=TLSRPTv1; rua=mailto:tls-reports@example.org,https://reports.example.org/tlsrpt").orElseThrow());
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = new TlsReportSender(TlsReportSender.Settings.of("mx.sender.test"), counts,
                     d -> Optional.ofNullable(records.get(d)), spool,
                     to -> Optional.of(new Route.Relay(to.domainKey())), (uri, body) -> posted.add(new Posted(uri, body)), clock)) {
            InetAddress ip = InetAddress.getByName("192.0.2.9");
            counts.record("example.org", "mx.example.org", ip, new HostTls.Opportunistic(), Optional.empty());
            counts.record("example.org", "mx.example.org", ip, new HostTls.Opportunistic(),
                    Optional.of(new TlsResults.Failure("starttls-not-supported", "no STARTTLS")));
            counts.record("no-record.example", "mx.no-record.example", ip, new HostTls.Opportunistic(), Optional.empty());

            assertThat(sender.send(false)).as("the day has not ended").isZero();
            assertThat(spool.ids(QueueState.INCOMING)).isEmpty();

            now = Instant.parse("2026-12-04T00:01:00Z");
            assertThat(sender.send(false)).isEqualTo(1);
            assertThat(counts.ended(LocalDate.parse("2026-12-05"), true)).as("sent days are forgotten").isEmpty();

            assertThat(posted).hasSize(1);
            assertThat(posted.get(0).uri()).isEqualTo(URI.create("https://reports.example.org/tlsrpt"));
            JsonNode report = json(posted.get(0).body());
            assertThat(report.path("date-range").path("end-datetime").asText()).isEqualTo("2026-12-04T00:00:00Z");
            assertThat(report.path("policies").get(0).path("summary").path("total-failure-session-count").asLong()).isEqualTo(1);

            List<String> ids = spool.ids(QueueState.INCOMING);
            assertThat(ids).hasSize(1);
            Envelope envelope = spool.envelope(QueueState.INCOMING, ids.get(0));
            assertThat(envelope.sender()).isEmpty();
            assertThat(envelope.kind()).isEqualTo(Envelope.Kind.SENDER_NOTICE);
            assertThat(envelope.recipients().get(0).recipient().address().toString()).isEqualTo("tls-reports@example.org");
            String text = Files.readString(spool.text(ids.get(0)), StandardCharsets.US_ASCII);
            String id = report.path("report-id").asText();
            assertThat(text).contains("\r\nSubject: Report Domain: example.org Submitter: mx.sender.test Report-ID: <" + id + ">\r\n")
                    .contains("\r\nTLS-Report-Domain: example.org\r\n")
                    .contains("\r\nTLS-Report-Submitter: mx.sender.test\r\n")
                    .contains("From: noreply-tlsrpt@mx.sender.test\r\n")
                    .contains("Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=")
                    .contains("Content-Type: application/tlsrpt+gzip")
                    .contains("\r\nTLS-Required: No\r\n")
                    .containsPattern("\r\nDate: [A-Z][a-z]{2}, \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000\r\n") // RFC 5322, not GMT
                    .containsPattern("filename=\"mx\\.sender\\.test!example\\.org!1796256000!1796342400![A-Za-z0-9-]+\\.json\\.gz\"");
            String body = text.substring(text.indexOf("Content-Transfer-Encoding: base64\r\n"));
            body = body.substring(body.indexOf("\r\n\r\n") + 4, body.indexOf("\r\n--"));
            JsonNode mailed = json(Base64.getMimeDecoder().decode(body));
            assertThat(mailed.path("report-id").asText()).isEqualTo(id);
        }
    }

    /**
     * A POST that keeps failing is tried three times, the first failure here a refused connection as the JDK's HTTP
     * client says it, a ConnectException without a message (its log line met the null message and a
     * NullPointerException left the retries after one try), the others an HTTP 503.
     */
    @Test
    void aPostThatKeepsFailingIsTriedThreeTimesAndTheDayIsKeptUntilTheCutoff() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        AtomicInteger tries = new AtomicInteger();
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = new TlsReportSender(TlsReportSender.Settings.of("mx.sender.test"), counts,
                     d -> TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/"), spool,
                     to -> Optional.empty(), (uri, body) -> {
                         if (tries.incrementAndGet() == 1) {
                             throw new java.net.ConnectException();
                         }
                         throw new IOException("HTTP status 503");
                     }, clock)) {
            sender.postWaits(List.of(Duration.ofMillis(1), Duration.ofMillis(1)));
            counts.record("example.org", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            assertThat(sender.send(true)).as("sent on demand, today included").isEqualTo(1);
            assertThat(tries).hasValue(3);
            assertThat(counts.ended(LocalDate.parse("2026-12-05"), true)).as("no rua took it: kept (RFC 8460 §3)").hasSize(1);
            now = Instant.parse("2026-12-04T05:00:00Z");
            sender.send(false);
            assertThat(tries).hasValue(6);
            assertThat(counts.ended(LocalDate.parse("2026-12-05"), true)).as("tried again later").hasSize(1);
            now = Instant.parse("2026-12-06T00:00:01Z");
            sender.send(false);
            assertThat(counts.ended(LocalDate.parse("2026-12-07"), true)).as("given up 48 h after the day's end").isEmpty();
        }
    }

    @Test
    void daysThatEndedWhileMxdWasDownAreSentAtStartUp() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS)) {
            counts.record("example.org", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
        }
        now = Instant.parse("2026-12-05T08:00:00Z"); // mxd comes back two days later
        List<Posted> posted = java.util.Collections.synchronizedList(new ArrayList<>());
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = new TlsReportSender(TlsReportSender.Settings.of("mx.sender.test"), counts,
                     d -> TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/"), spool,
                     to -> Optional.empty(), (uri, body) -> posted.add(new Posted(uri, body)), clock)) {
            sender.start();
            assertThat(dev.mxd.testing.Await.within(Duration.ofSeconds(10), () -> posted.size() == 1)).isTrue();
            JsonNode report = json(posted.get(0).body());
            assertThat(report.path("date-range").path("start-datetime").asText()).isEqualTo("2026-12-03T00:00:00Z");
            assertThat(report.path("date-range").path("end-datetime").asText()).isEqualTo("2026-12-04T00:00:00Z");
            assertThat(dev.mxd.testing.Await.within(Duration.ofSeconds(10),
                    () -> counts.ended(LocalDate.parse("2026-12-06"), true).isEmpty())).isTrue();
        }
    }

    private TlsReportSender sender(TlsReportCounts counts, Spool spool, TlsReportSender.Lookup lookup, TlsReportSender.Poster poster) {
        return new TlsReportSender(TlsReportSender.Settings.of("mx.sender.test"), counts, lookup, spool,
                to -> Optional.of(new Route.Relay(to.domainKey())), poster, clock);
    }

    private static long successes(TlsReportCounts counts) {
        return counts.ended(LocalDate.parse("2026-12-31"), true).stream()
                .flatMap(d -> d.policies().stream()).mapToLong(TlsReportCounts.PolicyCounts::successes).sum();
    }

    @Test
    void aFailedRecordLookupKeepsTheDayForALaterRun() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        AtomicInteger lookups = new AtomicInteger();
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = sender(counts, spool, d -> {
                 if (lookups.incrementAndGet() == 1) {
                     throw new IOException("SERVFAIL");
                 }
                 return TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/");
             }, (uri, body) -> { })) {
            counts.record("example.org", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            now = Instant.parse("2026-12-04T01:00:00Z");
            assertThat(sender.send(false)).isZero();
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), false)).as("a DNS failure is not 'no record'").hasSize(1);
            assertThat(sender.send(false)).isEqualTo(1);
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), false)).isEmpty();
        }
    }

    @Test
    void sessionsCountedWhileAReportIsMadeAreKeptForTheNext() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        InetAddress ip = InetAddress.getByName("192.0.2.9");
        TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
        try (counts; TlsReportSender sender = sender(counts, spool, d -> {
                counts.record("example.org", "mx", ip, new HostTls.Opportunistic(), Optional.empty());
                counts.record("example.org", "mx", ip, new HostTls.Opportunistic(), Optional.empty());
                return TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/");
            }, (uri, body) -> { })) {
            counts.record("example.org", "mx", ip, new HostTls.Opportunistic(), Optional.empty());
            assertThat(sender.sendNow()).isEqualTo(1);
            assertThat(successes(counts)).isEqualTo(2);
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), true).get(0).from()).isEqualTo(now);
        }
    }

    @Test
    void oneDomainsFailureDoesNotStopTheOthers() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        List<Posted> posted = new ArrayList<>();
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = sender(counts, spool, d -> {
                 if (d.equals("a.example")) {
                     throw new IllegalStateException("broken");
                 }
                 return TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports." + d + "/");
             }, (uri, body) -> posted.add(new Posted(uri, body)))) {
            counts.record("a.example", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            counts.record("b.example", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            sender.send(true);
            assertThat(posted).extracting(Posted::uri).containsExactly(URI.create("https://reports.b.example/"));
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), true)).extracting(d -> d.key().domain()).containsExactly("a.example");
        }
    }

    @Test
    void aMailtoAddressIsPercentDecodedAndKeepsItsPlus() throws Exception {
        assertThat(TlsReportSender.mailtoAddress(URI.create("mailto:tls+rpt@example.org"))).isEqualTo("tls+rpt@example.org");
        assertThat(TlsReportSender.mailtoAddress(URI.create("mailto:tls%2Brpt%40x@example.org?subject=a"))).isEqualTo("tls+rpt@x@example.org");
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = sender(counts, spool, d -> TlsRptRecord.parse("v=TLSRPTv1; rua=mailto:tls+rpt@example.org"),
                     (uri, body) -> { })) {
            counts.record("example.org", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            sender.send(true);
            List<String> ids = spool.ids(QueueState.INCOMING);
            assertThat(ids).hasSize(1);
            assertThat(spool.envelope(QueueState.INCOMING, ids.get(0)).recipients().get(0).recipient().address().toString())
                    .isEqualTo("tls+rpt@example.org");
        }
    }

    @Test
    void twoReportsInTheSameSecondHaveDifferentIdsAndFileNames() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        List<Posted> posted = new ArrayList<>();
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = sender(counts, spool, d -> TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/"),
                     (uri, body) -> {
                         throw new IOException("down");
                     })) {
            sender.postWaits(List.of());
            counts.record("example.org", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            List<String> ids = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                TlsReportCounts.DomainDayCounts day = counts.ended(LocalDate.parse("2026-12-04"), true).get(0);
                dev.mxd.tls.TlsReport report = new dev.mxd.tls.TlsReport("mx.sender.test", "x@mx.sender.test", day, now,
                        java.util.UUID.randomUUID().toString().substring(0, 8));
                ids.add(report.reportId());
                names.add(report.fileName());
            }
            assertThat(ids).doesNotHaveDuplicates();
            assertThat(names).doesNotHaveDuplicates();
        }
    }

    @Test
    void closingWhileAPostHangsKeepsTheDayForTheNextStart() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        java.util.concurrent.CountDownLatch posting = new java.util.concurrent.CountDownLatch(1);
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS)) {
            counts.record("example.org", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            now = Instant.parse("2026-12-04T01:00:00Z");
            TlsReportSender sender = sender(counts, spool, d -> TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/"),
                    (uri, body) -> {
                        posting.countDown();
                        try {
                            Thread.sleep(60_000);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IOException("interrupted", e);
                        }
                    });
            sender.start();
            assertThat(posting.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            sender.close();
        }
        List<Posted> posted = java.util.Collections.synchronizedList(new ArrayList<>());
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = sender(counts, spool, d -> TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/"),
                     (uri, body) -> posted.add(new Posted(uri, body)))) {
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), false)).as("the interrupted day is kept").hasSize(1);
            assertThat(sender.send(false)).isEqualTo(1);
            assertThat(sender.send(false)).isZero();
            assertThat(posted).hasSize(1);
        }
    }

    @Test
    void sendNowWaitsABoundedTime() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = sender(counts, spool, d -> TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.org/"),
                     (uri, body) -> {
                         try {
                             Thread.sleep(60_000);
                         } catch (InterruptedException e) {
                             Thread.currentThread().interrupt();
                             throw new IOException("interrupted", e);
                         }
                     })) {
            sender.deadlines(Duration.ofMinutes(10), Duration.ofMillis(500));
            counts.record("example.org", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            long start = System.nanoTime();
            org.assertj.core.api.Assertions.assertThatThrownBy(sender::sendNow).isInstanceOf(TlsReportSender.StillSending.class)
                    .hasMessageContaining("still being sent");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        }
    }

    @Test
    void aRunStopsAtItsDeadlineAndAHostThatFailedIsNotTriedAgainInTheRun() throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.sender.test", clock);
        AtomicInteger tries = new AtomicInteger();
        try (TlsReportCounts counts = TlsReportCounts.open(dir.resolve("tls-reports"), clock, TlsReportCounts.Limits.DEFAULTS);
             TlsReportSender sender = sender(counts, spool, d -> TlsRptRecord.parse("v=TLSRPTv1; rua=https://reports.example.net/"),
                     (uri, body) -> {
                         tries.incrementAndGet();
                         throw new IOException("refused");
                     })) {
            sender.postWaits(List.of(Duration.ofMillis(1)));
            for (int i = 0; i < 5; i++) {
                counts.record("d" + i + ".example", "mx", InetAddress.getByName("192.0.2.9"), new HostTls.Opportunistic(), Optional.empty());
            }
            sender.send(true);
            assertThat(tries).as("two attempts for the first domain, none for the others").hasValue(2);
            assertThat(counts.ended(LocalDate.parse("2026-12-04"), true)).hasSize(5);
            sender.deadlines(Duration.ZERO, Duration.ofMinutes(1));
            sender.send(true);
            assertThat(tries).as("no time left").hasValue(2);
        }
    }

    /**
     * A domain's record names an https rua inside someone's own network (rua=https://10.0.0.5/...): mxd posted there from
     * inside its network. Refused before any connection, as are link-local, unique local, shared and unspecified
     * addresses; loopback (a collector on this machine) is allowed. Checked by address only: no name is looked up here.
     */
    @Test
    void anHttpsRuaInsideAPrivateNetworkIsRefusedBeforeAnyConnection() throws Exception {
        for (String target : List.of("https://10.0.0.5:8443/x?y=z", "https://192.168.1.7/", "https://169.254.169.254/latest",
                "https://100.64.0.1/", "https://[fd00::1]/", "https://[fe80::1]/", "https://0.0.0.0:9/")) {
            assertThatThrownBy(() -> TlsReportSender.reachable(URI.create(target))).as(target)
                    .isInstanceOf(java.io.IOException.class).hasMessageContaining("not an address of the Internet");
        }
        TlsReportSender.reachable(URI.create("https://127.0.0.1:8443/tlsrpt"));
        TlsReportSender.reachable(URI.create("https://[::1]/tlsrpt"));
        TlsReportSender.reachable(URI.create("https://192.0.2.10/tlsrpt")); // TEST-NET-1: public by form
        // the real poster refuses before connecting (0.0.0.0 would reach this host if it tried)
        TlsReportSender.Poster poster = TlsReportSender.httpsPoster(Optional.empty(), Duration.ofSeconds(5));
        assertThatThrownBy(() -> poster.post(URI.create("https://0.0.0.0:9/tlsrpt"), new byte[] {1}))
                .hasMessageContaining("not an address of the Internet");
    }

    @Test
    void theHttpsPosterBoundsAnAnswerThatTrickles() throws Exception {
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (java.net.Socket s = server.accept()) {
                    s.getInputStream().read(new byte[4096]);
                    var out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    for (int i = 0; i < 300; i++) {
                        out.write('x');
                        out.flush();
                        Thread.sleep(100);
                    }
                } catch (IOException | InterruptedException e) {
                    // the client gave up
                }
            });
            t.setDaemon(true);
            t.start();
            TlsReportSender.Poster poster = TlsReportSender.httpsPoster(Optional.empty(), Duration.ofSeconds(2));
            long start = System.nanoTime();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> poster.post(
                    URI.create("http://127.0.0.1:" + server.getLocalPort() + "/"), new byte[] {1})).isInstanceOf(IOException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
        }
    }
}
