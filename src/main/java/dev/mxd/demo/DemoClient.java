package dev.mxd.demo;

import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.OutboundEnvelope;
import dev.mxd.smtp.client.MessageContent;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.OutboundRecipient;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.TlsPolicy;
import dev.mxd.smtp.client.TransactionResult;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's trusted client: submits numbered messages to the sending node over SMTP, on a few
 * connections at once as a busy application would, and remembers which ones the node accepted
 * with 250. Each message carries a marker header with the run's id and its number, so the
 * tally can find every one of them in mx1's Maildir whatever path it took.
 */
final class DemoClient {

    static final String MARKER_HEADER = "X-Mxd-Demo";
    private static final int CONNECTIONS = 4;
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH);

    private final InetSocketAddress server;
    private final String run;
    private final int total;
    private final Set<Integer> accepted = ConcurrentHashMap.newKeySet();
    private final List<String> refusals = java.util.Collections.synchronizedList(new ArrayList<>());

    DemoClient(InetSocketAddress server, String run, int total) {
        this.server = server;
        this.run = run;
        this.total = total;
    }

    /**
     * Submits messages {@code from} to {@code to} (inclusive), spread over a few connections, and
     * returns how many were accepted. Bounded: each connection gives up after {@code limit}.
     */
    int submit(int from, int to, Duration limit) {
        ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS, r -> {
            Thread t = new Thread(r, "mxd-demo-client");
            t.setDaemon(true);
            return t;
        });
        int before = accepted.size();
        try {
            List<Future<?>> lanes = new ArrayList<>();
            for (int lane = 0; lane < CONNECTIONS; lane++) {
                int first = from + lane;
                lanes.add(pool.submit(() -> submitLane(first, to, CONNECTIONS)));
            }
            long deadline = System.nanoTime() + limit.toNanos();
            for (Future<?> f : lanes) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    refusals.add("submission did not finish within " + limit.toSeconds() + "s");
                } catch (ExecutionException e) {
                    refusals.add("submission failed: " + e.getCause());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            pool.shutdownNow();
        }
        return accepted.size() - before;
    }

    /** Messages first, first+step, ... up to last, on one connection (a new one after a failure). */
    private void submitLane(int first, int last, int step) {
        SmtpConnection c = null;
        try {
            for (int n = first; n <= last && !Thread.currentThread().isInterrupted(); n += step) {
                if (c == null || !c.reusable()) {
                    if (c != null) {
                        c.close();
                    }
                    OpenResult opened = SmtpConnection.open(server, DemoCluster.hostname(DemoCluster.Node.SENDER),
                            ClientSettings.defaults("client." + DemoCluster.SENDER_DOMAIN).withTls(TlsPolicy.NONE)
                                    .withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(30))));
                    if (!(opened instanceof OpenResult.Ready ready)) {
                        refusals.add("message " + n + ": cannot open a session with the sending node: "
                                + ((OpenResult.Failed) opened).failure());
                        c = null;
                        continue;
                    }
                    c = ready.connection();
                }
                TransactionResult r = c.send(OutboundEnvelope.of(DemoCluster.SENDER_MAILBOX + "@" + DemoCluster.SENDER_DOMAIN,
                        List.of(OutboundRecipient.of(DemoCluster.MAILBOX + "@" + DemoCluster.DOMAIN)), MessageContent.of(message(n))));
                if (r instanceof TransactionResult.Completed done && done.accepted().size() == 1) {
                    accepted.add(n);
                } else {
                    refusals.add("message " + n + ": not accepted by the sending node: " + r);
                }
            }
        } finally {
            if (c != null) {
                c.close();
            }
        }
    }

    /** Message number {@code n} of the burst, with its marker. */
    byte[] message(int n) {
        String text = "From: mxd demo <" + DemoCluster.SENDER_MAILBOX + "@" + DemoCluster.SENDER_DOMAIN + ">\r\n"
                + "To: <" + DemoCluster.MAILBOX + "@" + DemoCluster.DOMAIN + ">\r\n"
                + "Subject: mxd demo message " + n + " of " + total + "\r\n"
                + "Date: " + DATE.format(ZonedDateTime.now(ZoneOffset.UTC)) + "\r\n"
                + "Message-ID: <" + n + "." + run + "@" + DemoCluster.SENDER_DOMAIN + ">\r\n"
                + MARKER_HEADER + ": " + run + " " + n + "\r\n"
                + "\r\n"
                + "Message " + n + " of " + total + " of the mxd demo burst: from the sending node to the MX hosts of "
                + DemoCluster.DOMAIN + ".\r\n";
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** The message number in a delivered message's marker header from this run, or -1. */
    int markerOf(String headerText) {
        Matcher m = Pattern.compile("(?m)^" + MARKER_HEADER + ": " + Pattern.quote(run) + " (\\d+)\r?$").matcher(headerText);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    Set<Integer> accepted() {
        return Set.copyOf(accepted);
    }

    List<String> refusals() {
        return List.copyOf(refusals);
    }
}
