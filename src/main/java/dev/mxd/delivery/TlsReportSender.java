package dev.mxd.delivery;

import dev.mxd.dns.DnsClient;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.queue.Envelope;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.tls.TlsReport;
import dev.mxd.tls.TlsReportCounts;
import dev.mxd.tls.TlsRptRecord;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the TLS-RPT aggregate reports (RFC 8460 §5) of the days {@link TlsReportCounts} counted: after
 * each UTC day ends, at start-up for days that ended while mxd was down, and on demand
 * ({@link #sendNow()}, the admin API's {@code POST /api/tls-reports/send}). For each policy domain it
 * looks up {@code _smtp._tls.DOMAIN} and sends the gzipped report to each {@code rua}: a {@code mailto:}
 * as a message mxd spools itself (from {@code <>}, header {@code From: noreply-tlsrpt@HOSTNAME},
 * {@code TLS-Required: No}), an {@code https:} as a POST, retried a few times within the run. A day's counts
 * are forgotten once one {@code rua} took its report, or when the domain publishes no record; when the
 * lookup failed or no {@code rua} took it, the day is kept and tried again every hour, until
 * {@link #GIVE_UP} after the day's end. The daily run starts at a random time in the first four hours
 * after midnight UTC (RFC 8460 §4.1 asks senders to spread their reports out).
 */
public final class TlsReportSender implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TlsReportSender.class);
    private static final ClientInfo SELF = new ClientInfo(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            "localhost", true, false);
    /** The POST attempts per report and https address, and the waits between them. */
    private volatile List<Duration> postWaits = List.of(Duration.ofSeconds(2), Duration.ofSeconds(10));
    /** How long after its end a day that could not be reported is kept. */
    static final Duration GIVE_UP = Duration.ofHours(48);
    /** How long one run may take; domains left when it is over are tried in the next run. */
    private volatile Duration runDeadline = Duration.ofMinutes(10);
    /** How long {@link #sendNow()} waits for its run. */
    private volatile Duration sendNowWait = Duration.ofMinutes(2);
    /** The latest time after midnight UTC the daily run starts at. */
    private static final Duration JITTER = Duration.ofHours(4);
    private static final Duration RETRY = Duration.ofHours(1);

    /** Sends one report to one {@code https:} address; throws when the server did not take it. */
    @FunctionalInterface
    public interface Poster {
        void post(URI uri, byte[] gzipped) throws IOException;
    }

    /** Looks up a policy domain's TLS-RPT record: empty when it publishes none; throws when the lookup failed. */
    @FunctionalInterface
    public interface Lookup {
        Optional<TlsRptRecord> find(String domain) throws IOException;
    }

    /**
     * What the sender reports from; {@link #reportMailFrom} is the header From: of report mail; with a
     * {@link #dkim} signer report mail is DKIM-signed and its submitter is the signing domain.
     */
    public record Settings(String hostname, String reportMailFrom, Optional<DkimSigner> dkim) {
        public Settings(String hostname, String reportMailFrom) {
            this(hostname, reportMailFrom, Optional.empty());
        }

        public static Settings of(String hostname) {
            return new Settings(hostname, "noreply-tlsrpt@" + hostname);
        }

        /**
         * These settings with report mail signed by {@code signer}. The default From: moves to the signing
         * domain with the submitter: RFC 8460 §5.3 wants TLS-Report-Submitter to match the domain of the
         * report's contact-info (this address), and DMARC alignment wants the From: domain signed.
         */
        public Settings signedBy(DkimSigner signer) {
            String from = reportMailFrom.equals(of(hostname).reportMailFrom()) ? "noreply-tlsrpt@" + signer.domain() : reportMailFrom;
            return new Settings(hostname, from, Optional.of(signer));
        }

        /** The report's submitter (RFC 8460 §5.3): the DKIM signing domain when report mail is signed, else the hostname. */
        String submitter() {
            return dkim.map(DkimSigner::domain).orElse(hostname);
        }
    }

    private final Settings settings;
    private final TlsReportCounts counts;
    private final Lookup lookup;
    private final Spool spool;
    private final DsnNotices.LocalMailRoutes routes;
    private final Poster poster;
    private final Clock clock;
    /** Whether a retry run is scheduled (only on the timer thread). */
    private boolean retryPending;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mxd-tlsrpt-send");
        t.setDaemon(true);
        return t;
    });

    public TlsReportSender(Settings settings, TlsReportCounts counts, Lookup lookup, Spool spool,
                           DsnNotices.LocalMailRoutes routes, Poster poster, Clock clock) {
        this.settings = settings;
        this.counts = counts;
        this.lookup = lookup;
        this.spool = spool;
        this.routes = routes;
        this.poster = poster;
        this.clock = clock;
    }

    /** Other waits between POST attempts (tests). */
    void postWaits(List<Duration> waits) {
        postWaits = List.copyOf(waits);
    }

    /** Other bounds on a run and on {@link #sendNow()}'s wait (tests). */
    void deadlines(Duration run, Duration sendNow) {
        runDeadline = run;
        sendNowWait = sendNow;
    }

    /** The record lookup through mxd's resolvers. */
    public static Lookup dnsLookup(DnsClient dns) {
        return domain -> TlsRptRecord.lookup(dns, domain);
    }

    /**
     * POSTs with the JDK's HTTP client, trusting the PEM certificates of {@code caFile}
     * (delivery.tls.ca-file) when given, else the JDK's trust store.
     */
    public static Poster httpsPoster(Optional<Path> caFile, Duration timeout) throws IOException {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER);
        if (caFile.isPresent()) {
            builder.sslContext(trusting(caFile.get()));
        }
        HttpClient http = builder.build();
        return (uri, body) -> {
            reachable(uri);
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout)
                    .header("Content-Type", "application/tlsrpt+gzip")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            HttpResponse<Void> response;
            // The request's timeout covers the response's head only: the whole exchange, body included,
            // is bounded here, so a server that trickles its answer cannot hold the sender.
            java.util.concurrent.CompletableFuture<HttpResponse<Void>> exchange =
                    http.sendAsync(request, HttpResponse.BodyHandlers.discarding());
            try {
                response = exchange.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                exchange.cancel(true);
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } catch (java.util.concurrent.TimeoutException e) {
                exchange.cancel(true);
                throw new IOException("no whole answer within " + timeout.toSeconds() + " s");
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(String.valueOf(e.getCause()), e.getCause());
            }
            if (response.statusCode() / 100 != 2) {
                throw new IOException("HTTP status " + response.statusCode());
            }
        };
    }

    /**
     * Refuses an https rua whose host is an address of someone's own network (RFC 1918, link-local, unique local,
     * shared, unspecified, "this network", benchmarking, NAT64 of any of these: {@code AddressScope}): a domain mxd delivers to chooses its rua, and mxd would post into the network it runs in.
     * Resolved as the HTTP client resolves it (the JVM keeps the answer for the client's own lookup right after). A
     * loopback address is allowed: a collector on this machine is the operator's own.
     */
    static void reachable(URI uri) throws IOException {
        String host = uri.getHost();
        if (host == null) {
            throw new IOException(uri + " names no host");
        }
        for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
            if (!a.isLoopbackAddress()) {
                java.util.Optional<String> kind = dev.mxd.dns.AddressScope.nonPublic(a);
                if (kind.isPresent()) {
                    throw new IOException(uri + ": " + host + " is " + kind.get() + " (" + a.getHostAddress()
                            + "), not an address of the Internet: a report is not posted there");
                }
            }
        }
    }

    private static SSLContext trusting(Path pem) throws IOException {
        try (InputStream in = Files.newInputStream(pem)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the certificates of " + pem + ": " + e.getMessage(), e);
        }
    }

    /** Sends the days that ended while mxd was down, then each day's reports a little after it ends (UTC). */
    public void start() {
        if (settings.dkim().isPresent()) {
            DkimSigner dkim = settings.dkim().get();
            LOG.info("TLS-RPT: report mail is DKIM-signed as d={} s={}", dkim.domain(), dkim.selector());
        } else {
            LOG.info("TLS-RPT: report mail is not DKIM-signed (delivery.tls.report-dkim is not set); RFC 8460 §3 lets"
                    + " receivers ignore unsigned report mail (https reports are not affected)");
        }
        timer.execute(this::sendEndedQuietly);
        scheduleNext();
    }

    private void scheduleNext() {
        Instant now = clock.instant();
        long jitter = java.util.concurrent.ThreadLocalRandom.current().nextLong(JITTER.toMillis() + 1);
        Instant next = LocalDate.ofInstant(now, ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant()
                .plusSeconds(60) // sessions that straddled midnight are counted by then
                .plusMillis(jitter);
        timer.schedule(() -> {
            sendEndedQuietly();
            scheduleNext();
        }, Duration.between(now, next).toMillis(), TimeUnit.MILLISECONDS);
    }

    private void sendEndedQuietly() {
        Run run;
        try {
            run = run(false);
        } catch (RuntimeException e) {
            LOG.error("TLS-RPT: sending the reports failed: {}", e.toString());
            return;
        }
        if (run.kept() > 0 && !retryPending && !timer.isShutdown()) {
            retryPending = true;
            timer.schedule(() -> {
                retryPending = false;
                sendEndedQuietly();
            }, RETRY.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Sends now the reports of every counted day, today's so far included (its report ends now, and the
     * day's later counts go into a report that starts here): a day sent this way is split into several
     * reports, where RFC 8460 §4.1 would have one per day. Waits a bounded time for the run (a run still
     * going on then goes on in the background). Returns how many reports were made.
     */
    public int sendNow() {
        java.util.concurrent.Future<Run> run = timer.submit(() -> run(true));
        try {
            return run.get(sendNowWait.toMillis(), TimeUnit.MILLISECONDS).made();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending the TLS reports", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new StillSending("the TLS reports are still being sent after " + sendNowWait.toSeconds()
                    + " s; they go on in the background");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("sending the TLS reports failed: " + e.getCause(), e.getCause());
        }
    }

    /** {@link #sendNow()} waited its time and the run goes on in the background. */
    public static final class StillSending extends IllegalStateException {
        StillSending(String message) {
            super(message);
        }
    }

    /** What one run did: reports made, and domain days kept for a later run. */
    record Run(int made, int kept) {}

    /** Sends the ended days' reports (and today's with {@code includeToday}); how many reports were made. */
    int send(boolean includeToday) {
        return run(includeToday).made();
    }

    /** Sends the ended days' reports (and today's with {@code includeToday}). */
    Run run(boolean includeToday) {
        Instant now = clock.instant();
        long deadline = System.nanoTime() + runDeadline.toNanos();
        LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
        java.util.Set<String> failedHosts = new java.util.HashSet<>();
        int made = 0;
        int kept = 0;
        for (TlsReportCounts.DomainDayCounts day : counts.ended(today, includeToday)) {
            if (Thread.currentThread().isInterrupted()) {
                break; // shutting down: what is left is sent after the restart
            }
            if (System.nanoTime() - deadline > 0) {
                LOG.warn("TLS-RPT: the run took too long; {} and the domains after it wait for the next run", day.key().domain());
                kept++;
                continue;
            }
            Instant dayEnd = day.key().day().plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
            Instant until = now.isBefore(dayEnd) ? now : dayEnd;
            boolean done;
            try {
                Optional<TlsRptRecord> record = lookup.find(day.key().domain());
                if (record.isEmpty()) {
                    LOG.info("TLS-RPT: {} publishes no TLS-RPT record (_smtp._tls); its counts of {} are dropped",
                            day.key().domain(), day.key().day());
                    done = true;
                } else {
                    TlsReport report = new TlsReport(settings.submitter(), settings.reportMailFrom(), day, until,
                            UUID.randomUUID().toString().substring(0, 8));
                    made++;
                    done = false;
                    for (URI rua : record.get().rua()) {
                        done |= deliver(report, rua, failedHosts);
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("TLS-RPT: the report of {} for {} cannot be made now: {}", day.key().domain(), day.key().day(),
                        LogText.safe(e.toString()));
                done = false;
            }
            if (Thread.currentThread().isInterrupted()) {
                break; // an attempt cut short by the shutdown: the day is kept
            }
            if (done) {
                counts.reported(day, until);
            } else if (now.isAfter(dayEnd.plus(GIVE_UP))) {
                LOG.warn("TLS-RPT: the report of {} for {} could not be delivered for {} h; its counts are dropped",
                        day.key().domain(), day.key().day(), GIVE_UP.toHours());
                counts.reported(day, until);
            } else {
                kept++;
                LOG.info("TLS-RPT: the report of {} for {} was not delivered; it is tried again later", day.key().domain(), day.key().day());
            }
        }
        return new Run(made, kept);
    }

    /** Whether the {@code rua} took the report. */
    private boolean deliver(TlsReport report, URI rua, java.util.Set<String> failedHosts) {
        String scheme = rua.getScheme().toLowerCase(Locale.ROOT);
        try {
            if (scheme.equals("mailto")) {
                String queued = mail(report, rua);
                LOG.info("TLS-RPT: report {} for {} to {}: queued as {}", report.reportId(), report.domain(), rua, queued);
            } else {
                String host = rua.getHost().toLowerCase(Locale.ROOT);
                if (failedHosts.contains(host)) {
                    throw new IOException(host + " failed earlier in this run");
                }
                try {
                    post(report, rua);
                } catch (IOException e) {
                    failedHosts.add(host);
                    throw e;
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("TLS-RPT: report {} for {} to {} not delivered: {}", report.reportId(), report.domain(), rua, LogText.safe(e.toString()));
            return false;
        }
    }

    private void post(TlsReport report, URI rua) throws IOException {
        byte[] body = report.gzipped();
        for (int attempt = 0; ; attempt++) {
            try {
                poster.post(rua, body);
                LOG.info("TLS-RPT: report {} for {} posted to {}", report.reportId(), report.domain(), rua);
                return;
            } catch (IOException e) {
                if (attempt >= postWaits.size() || Thread.currentThread().isInterrupted()) {
                    throw new IOException("POST failed " + (attempt + 1) + " times, last: " + e, e);
                }
                LOG.info("TLS-RPT: POST of report {} to {} failed ({}); trying again", report.reportId(), rua, LogText.safe(e));
                try {
                    Thread.sleep(postWaits.get(attempt).toMillis());
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", ie);
                }
            }
        }
    }

    /** The address of a {@code mailto:} URI (RFC 6068): %XX decoded as UTF-8, '+' kept as it is. */
    static String mailtoAddress(URI rua) {
        String raw = rua.getRawSchemeSpecificPart().split("\\?", 2)[0];
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int i = 0;
        while (i < raw.length()) {
            int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
            int lo = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
            if (raw.charAt(i) == '%' && hi >= 0 && lo >= 0) {
                out.write(hi * 16 + lo);
                i += 3;
            } else {
                int cp = raw.codePointAt(i);
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(cp);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Spools the report message to the {@code mailto:} address; its queue id. */
    private String mail(TlsReport report, URI rua) throws IOException {
        String address = mailtoAddress(rua);
        Mailbox to = Mailbox.parse(address);
        Optional<Route> route = routes.route(to);
        if (route.isEmpty()) {
            throw new IOException("<" + to + "> leads to no mailbox here");
        }
        byte[] text = message(report, to.toString());
        MailParameters params = new MailParameters(OptionalLong.empty(), MailParameters.Body.SEVEN_BIT, false,
                Optional.empty(), Optional.empty());
        // From <>: a report that cannot be delivered is a notice to the postmaster, never a bounce loop.
        MessageStore.StoreOutcome stored = spool.store(new ReceivedMessage(Optional.empty(), params,
                List.of(new Recipient(to, RcptParameters.NONE, route.get())), SELF, clock.instant(), text), Envelope.Kind.SENDER_NOTICE);
        if (stored instanceof MessageStore.StoreOutcome.Failed f) {
            throw new IOException("cannot spool the report: " + f.reply());
        }
        return ((MessageStore.StoreOutcome.Stored) stored).queueId();
    }

    /** RFC 8460 §5.3: multipart/report with report-type="tlsrpt", the gzipped JSON attached (CRLF lines). */
    byte[] message(TlsReport report, String to) {
        String boundary = "tlsrpt-" + UUID.randomUUID();
        String submitter = settings.submitter();
        StringBuilder sb = new StringBuilder();
        header(sb, "From", settings.reportMailFrom());
        header(sb, "To", to);
        // RFC 5322 §3.3: a numeric zone (+0000), as notices write it; the "GMT" of RFC 1123's form is obsolete syntax
        header(sb, "Date", DsnWriter.RFC5322.format(clock.instant()));
        header(sb, "Subject", "Report Domain: " + report.domain() + " Submitter: " + submitter + " Report-ID: <" + report.reportId() + ">");
        header(sb, "Message-ID", "<" + UUID.randomUUID() + "@" + submitter + ">");
        header(sb, "TLS-Report-Domain", report.domain());
        header(sb, "TLS-Report-Submitter", submitter);
        header(sb, "Auto-Submitted", "auto-generated");
        // RFC 8460 §3: reports are delivered despite TLS failures; RFC 8689 §5 is how a message says so.
        header(sb, "TLS-Required", "No");
        header(sb, "MIME-Version", "1.0");
        header(sb, "Content-Type", "multipart/report; report-type=\"tlsrpt\"; boundary=\"" + boundary + "\"");
        sb.append("\r\n");
        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Type", "text/plain; charset=us-ascii");
        sb.append("\r\n");
        sb.append("This is an aggregate TLS report (RFC 8460) from ").append(submitter).append(" about the mail it delivered to ")
                .append(report.domain()).append(".\r\n\r\n");
        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Type", "application/tlsrpt+gzip; name=\"" + report.fileName() + "\"");
        header(sb, "Content-Transfer-Encoding", "base64");
        header(sb, "Content-Disposition", "attachment; filename=\"" + report.fileName() + "\"");
        sb.append("\r\n");
        sb.append(Base64.getMimeEncoder(76, new byte[] {'\r', '\n'}).encodeToString(report.gzipped())).append("\r\n");
        sb.append("--").append(boundary).append("--\r\n");
        byte[] text = sb.toString().getBytes(StandardCharsets.US_ASCII);
        return settings.dkim().map(dkim -> dkim.sign(text, clock.instant())).orElse(text);
    }

    private static void header(StringBuilder sb, String name, String value) {
        sb.append(name).append(": ").append(value).append("\r\n");
    }

    /**
     * Stops sending: a run going on is interrupted (a report it was delivering keeps its day, sent again
     * after the restart) and waited for, so the counts can be closed after.
     */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            if (!timer.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("TLS-RPT: the sender did not stop within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
