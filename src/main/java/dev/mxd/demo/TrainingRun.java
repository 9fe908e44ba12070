package dev.mxd.demo;

import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.dns.server.DnsServer;
import dev.mxd.node.ReceivingMx;
import dev.mxd.smtp.client.ClientSettings;
import dev.mxd.smtp.client.MessageContent;
import dev.mxd.smtp.client.OpenResult;
import dev.mxd.smtp.client.OutboundEnvelope;
import dev.mxd.smtp.client.OutboundRecipient;
import dev.mxd.smtp.client.SmtpConnection;
import dev.mxd.smtp.client.TlsPolicy;
import dev.mxd.smtp.client.TransactionResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A training workload for the JVM: mail relayed end to end on loopback, in one process, so that a
 * JDK that records what a run loaded, linked and compiled (an AOT cache, JDK 24 and later) can
 * start the next {@code mxd serve} already warm. The launcher runs it ({@code mxd demo --train}, hidden)
 * when it makes {@code target/mxd.aot}; it is not a benchmark and prints one line.
 *
 * <p>What runs: an authoritative DNS server for {@value #DOMAIN} ({@code MX 10 mx}), a relaying
 * node that trusts loopback clients, and a receiving node that is that domain's MX and writes a
 * Maildir. Clients submit 4 KB messages to the relay, first one connection per message, then
 * many messages per session; the relay spools each one (with its fsync) before the 250, looks up
 * the MX and delivers over SMTP to the receiving node, which spools and delivers to its Maildir.
 * Every count and every wait is bounded; everything listens on 127.0.0.1 only and the work
 * directory is removed at the end.
 */
public final class TrainingRun {

    /** The domain the training mail goes to, served by the run's own DNS server. */
    static final String DOMAIN = "train.test";
    /** The fewest messages a run may have: enough for both kinds of session. */
    public static final int MIN_MESSAGES = 20;
    /** The most messages a run may have. */
    public static final int MAX_MESSAGES = 20_000;
    /** Messages sent on one session in the second half of the run. */
    static final int PER_SESSION = 50;
    /** Clients submitting at once. */
    static final int CLIENTS = 8;
    private static final int MESSAGE_BYTES = 4096;

    /** What a run did: messages sent, accepted with 250 by the relay, found in the receiving node's Maildir. */
    public record Outcome(int sent, int accepted, int delivered, List<String> problems, double seconds) {
        /** Whether the mail went through: something was accepted and every accepted message was delivered. */
        public boolean ok() {
            return accepted > 0 && delivered >= accepted;
        }
    }

    private final int messages;
    private final Duration limit;

    /**
     * @param messages how many to send, {@link #MIN_MESSAGES} to {@link #MAX_MESSAGES}; half one per connection,
     *                 half {@value #PER_SESSION} per session
     * @param limit    the most the whole run may take; sending stops at three quarters of it, so that what was
     *                 accepted can still be delivered on a slow machine
     */
    public TrainingRun(int messages, Duration limit) {
        if (messages < MIN_MESSAGES || messages > MAX_MESSAGES) {
            throw new IllegalArgumentException(messages + " messages; " + MIN_MESSAGES + " to " + MAX_MESSAGES);
        }
        this.messages = messages;
        this.limit = limit;
    }

    /**
     * Starts the DNS server and both nodes in {@code dir} (new or empty; removed at the end), sends the messages,
     * waits until they are delivered or the time is up, stops everything and says what happened on {@code out}.
     *
     * @throws IOException           a node or the DNS server could not start (no free port, disk)
     * @throws IllegalStateException the run's own zone or configuration does not load
     */
    public Outcome run(Path dir, PrintWriter out) throws IOException {
        long start = System.nanoTime();
        long deadline = start + limit.toNanos();
        // Sending stops at three quarters of the limit, so that on a slow machine what was accepted is still delivered.
        long sendUntil = start + limit.toNanos() / 4 * 3;
        Files.createDirectories(dir);
        List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
        int sent;
        int accepted;
        int delivered;
        try {
            int port = DemoCluster.freePortOnEvery(List.of("127.0.0.1"));
            int relayPort = port;
            while (relayPort == port) {
                relayPort = DemoCluster.freePortOnEvery(List.of("127.0.0.1"));
            }
            try (DnsServer dns = DemoCluster.startDns(Files.writeString(dir.resolve(DOMAIN + ".zone"), zoneText()), "training");
                 ReceivingMx mx = startNode(dir, "mx", mxConfig(dir, port, dns.port()));
                 ReceivingMx relay = startNode(dir, "relay", relayConfig(dir, relayPort, port, dns.port()))) {
                InetSocketAddress submitTo = relay.smtpAddresses().get(0);
                int half = messages / 2;
                AtomicInteger tried = new AtomicInteger();
                AtomicInteger ok = new AtomicInteger();
                submit(submitTo, 0, half, 1, sendUntil, tried, ok, problems);
                submit(submitTo, half, messages, PER_SESSION, sendUntil, tried, ok, problems);
                sent = tried.get();
                accepted = ok.get();
                Path maildir = mx.maildir(DOMAIN, "sink");
                delivered = countFiles(maildir);
                while (delivered < accepted && System.nanoTime() - deadline < 0) {
                    sleep(100);
                    delivered = countFiles(maildir);
                }
                if (delivered < accepted) {
                    problems.add((accepted - delivered) + " accepted messages not delivered within " + limit.toSeconds() + " s");
                }
            }
        } finally {
            DemoCluster.deleteTree(dir);
        }
        Outcome o = new Outcome(sent, accepted, delivered, List.copyOf(problems), (System.nanoTime() - start) / 1e9);
        out.printf(java.util.Locale.ROOT, "mxd demo --train: %d messages sent, %d accepted, %d delivered in %.1f s%s%n",
                o.sent(), o.accepted(), o.delivered(), o.seconds(), o.problems().isEmpty() ? "" : "; " + o.problems().get(0));
        out.flush();
        return o;
    }

    /** Messages {@code from} (inclusive) to {@code to} (exclusive), {@value #CLIENTS} clients at once, {@code perSession} per connection. */
    private static void submit(InetSocketAddress server, int from, int to, int perSession, long deadline, AtomicInteger tried,
                               AtomicInteger ok, List<String> problems) {
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS, r -> {
            Thread t = new Thread(r, "mxd-train-client");
            t.setDaemon(true);
            return t;
        });
        AtomicInteger next = new AtomicInteger(from);
        try {
            List<Future<?>> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                clients.add(pool.submit(() -> client(server, next, to, perSession, deadline, tried, ok, problems)));
            }
            for (Future<?> f : clients) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    problems.add("submission did not finish in time");
                } catch (java.util.concurrent.ExecutionException e) {
                    problems.add("submission failed: " + e.getCause());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            pool.shutdownNow();
        }
    }

    /** One client: takes message numbers until none are left or the time is up, a new session every {@code perSession}. */
    private static void client(InetSocketAddress server, AtomicInteger next, int to, int perSession, long deadline,
                               AtomicInteger tried, AtomicInteger ok, List<String> problems) {
        ClientSettings settings = ClientSettings.defaults("client." + DOMAIN).withTls(TlsPolicy.NONE)
                .withTimeouts(ClientSettings.Timeouts.all(Duration.ofSeconds(20)));
        SmtpConnection c = null;
        try {
            int n;
            while ((n = next.getAndIncrement()) < to && System.nanoTime() - deadline < 0 && !Thread.currentThread().isInterrupted()) {
                if (c != null && (!c.reusable() || c.transactions() >= perSession)) {
                    c.close();
                    c = null;
                }
                if (c == null) {
                    OpenResult opened = SmtpConnection.open(server, "relay." + DOMAIN, settings);
                    if (!(opened instanceof OpenResult.Ready ready)) {
                        problems.add("cannot open a session with the relay: " + ((OpenResult.Failed) opened).failure());
                        continue;
                    }
                    c = ready.connection();
                }
                tried.incrementAndGet();
                TransactionResult r = c.send(OutboundEnvelope.of("trainer@" + DOMAIN,
                        List.of(OutboundRecipient.of("sink@" + DOMAIN)), MessageContent.of(message(n))));
                if (r instanceof TransactionResult.Completed done && done.accepted().size() == 1) {
                    ok.incrementAndGet();
                } else {
                    problems.add("message " + n + " not accepted: " + r);
                }
            }
        } finally {
            if (c != null) {
                c.close();
            }
        }
    }

    /** Message {@code n}: a few headers and a body that brings it to about 4 KB, in lines of 76 characters. */
    static byte[] message(int n) {
        StringBuilder s = new StringBuilder(MESSAGE_BYTES + 100);
        s.append("From: <trainer@").append(DOMAIN).append(">\r\n")
                .append("To: <sink@").append(DOMAIN).append(">\r\n")
                .append("Subject: mxd training message ").append(n).append("\r\n")
                .append("Message-ID: <").append(n).append(".train@").append(DOMAIN).append(">\r\n")
                .append("\r\n");
        String line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd\r\n";
        while (s.length() + line.length() <= MESSAGE_BYTES) {
            s.append(line);
        }
        return s.toString().getBytes(StandardCharsets.US_ASCII);
    }

    static String zoneText() {
        return String.join("\n",
                "$ORIGIN " + DOMAIN + ".",
                "$TTL 3600",
                "@    IN SOA ns." + DOMAIN + ". hostmaster." + DOMAIN + ". ( 1 3600 600 86400 60 )",
                "@    IN NS  ns",
                "ns   IN A   127.0.0.1",
                "@    IN MX  10 mx",
                "mx   IN A   127.0.0.1",
                "");
    }

    /** The receiving node: {@value #DOMAIN}'s MX, a Maildir for sink@, listening on {@code port}. */
    private static String mxConfig(Path dir, int port, int dnsPort) {
        return "hostname: mx." + DOMAIN + "\n"
                + "listen:\n  smtp: [\"127.0.0.1:" + port + "\"]\n"
                + "data-dir: " + dir.resolve("mx").toAbsolutePath() + "\n"
                + "dns:\n  servers: [\"127.0.0.1:" + dnsPort + "\"]\n"
                + "domains:\n  " + DOMAIN + ":\n    role: local\n    mailboxes: [sink, trainer]\n    aliases: {postmaster: trainer}\n"
                + "limits:\n  max-connections-per-ip: 500\n"
                + "timeouts:\n  greet-pause: 0s\n";
    }

    /** The relaying node: listens on {@code listen}, trusts loopback clients, finds the MX through the run's DNS server, delivers to {@code port}. */
    private static String relayConfig(Path dir, int listen, int port, int dnsPort) {
        return "hostname: relay." + DOMAIN + "\n"
                + "listen:\n  smtp: [\"127.0.0.1:" + listen + "\"]\n"
                + "data-dir: " + dir.resolve("relay").toAbsolutePath() + "\n"
                + "dns:\n  servers: [\"127.0.0.1:" + dnsPort + "\"]\n"
                + "trusted-networks: [\"127.0.0.0/8\"]\n"
                + "limits:\n  max-connections-per-ip: 500\n"
                + "timeouts:\n  greet-pause: 0s\n"
                + "delivery:\n  port: " + port + "\n"
                + "  retry: {first: 1s, max: 1s, give-up: 1h}\n"
                + "  host-retry: {first: 1s, max: 1s}\n";
    }

    private static ReceivingMx startNode(Path dir, String name, String config) throws IOException {
        Path file = Files.writeString(dir.resolve(name + ".yaml"), config);
        try {
            return ReceivingMx.start(ConfigLoader.load(file));
        } catch (ConfigException e) {
            throw new IllegalStateException("the training's own configuration " + file + " does not load: " + e.getMessage(), e);
        }
    }

    private static int countFiles(Path maildir) {
        int n = 0;
        for (String sub : List.of("new", "cur")) {
            Path d = maildir.resolve(sub);
            if (Files.isDirectory(d)) {
                try (Stream<Path> files = Files.list(d)) {
                    n += (int) files.count();
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot list " + d + ": " + e.getMessage(), e);
                }
            }
        }
        return n;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
