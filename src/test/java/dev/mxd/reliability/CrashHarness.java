package dev.mxd.reliability;

import dev.mxd.testing.Await;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.MxdProcess;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.SmtpSink;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The durability contract under SIGKILL (issue 6 point 1). A separate mxd JVM relays a trusted
 * client's mail by MX (zone served by mxd's own DNS server in this JVM) to Postfix's smtp-sink,
 * which dumps every message it accepted to a file. Each message carries a unique id in an
 * {@code X-Crash-Id} header and a last line naming it again, so a dump counts only when the whole
 * text arrived. Per round, several senders push {@code messages} messages; mxd is killed with
 * SIGKILL once at a random acknowledgement count while under load and once at a random moment
 * while it delivers the backlog, restarted each time on the same data directory, and then the
 * queue is drained. An acknowledged id never dumped is lost (must be 0); an id dumped twice is a
 * duplicate (allowed after a crash: the sink's 250 arrived, the envelope was not yet updated).
 *
 * <p>Bounded: every round has a message count and a drain deadline; every wait has an upper bound.
 */
public final class CrashHarness {

    /** The sink's address: any 127.x address is local; this one is used by no other test. */
    static final String SINK_HOST = "127.0.0.71";

    private static final Pattern ID = Pattern.compile("\nX-Crash-Id: (r\\d+-\\d+)\n");
    private static final List<String> QUEUES = List.of("incoming", "active", "deferred");

    /**
     * @param rounds       rounds of load, kill, restart, drain
     * @param messages     messages each round tries to send
     * @param senders      concurrent client connections
     * @param drainTimeout how long a round waits for the queue to drain after the last kill
     * @param seed         for the kill moments; printed so a round can be repeated
     */
    public record Settings(int rounds, int messages, int senders, Duration drainTimeout, long seed) {
        public Settings {
            if (rounds < 1 || messages < 1 || senders < 1) {
                throw new IllegalArgumentException("rounds, messages and senders must be at least 1");
            }
        }
    }

    /**
     * One round's figures.
     *
     * @param sent         messages whose transaction was started
     * @param acknowledged answered 250 after DATA
     * @param received     acknowledged ids the sink holds (at least once)
     * @param lost         acknowledged and never received: must be 0
     * @param duplicated   extra copies at the sink (a message received three times counts 2)
     * @param unacked      received though never acknowledged (the 250 was lost in the kill: allowed)
     * @param spooledAtKills messages in mxd's queue directories right after each kill, summed
     * @param drain        time from the last restart until every acknowledged message was received
     */
    public record Round(int round, int sent, int acknowledged, int received, int lost, int duplicated, int unacked,
                        int spooledAtKills, int kills, Duration drain) {}

    private final Path dir;
    private final Settings settings;
    private final PrintStream log;
    private final Random random;
    private final Path data;
    private final Path dumps;
    private final Path config;
    private final int smtpPort;
    private final Map<Path, String> dumpIds = new HashMap<>();

    private CrashHarness(Path dir, Settings settings, PrintStream log, int smtpPort, int sinkPort, InetSocketAddress dns)
            throws IOException {
        this.dir = dir;
        this.settings = settings;
        this.log = log;
        this.random = new Random(settings.seed());
        this.data = dir.resolve("data");
        this.dumps = dir.resolve("dumps");
        this.smtpPort = smtpPort;
        this.config = Files.writeString(dir.resolve("mxd.yaml"), TestMx.yaml(data, smtpPort,
                "timeouts:\n  greet-pause: 0s\n"
                        + "dns:\n  servers: [\"127.0.0.1:" + dns.getPort() + "\"]\n"
                        + "delivery:\n  port: " + sinkPort + "\n  connect-timeout: 2s\n  greeting-timeout: 5s\n"
                        + "  command-timeout: 10s\n  retry: {first: 1s, max: 1s, give-up: 1h}\n"
                        + "  host-retry: {first: 1s, max: 1s}\n  scan-interval: 200ms\n"));
    }

    /** Runs every round in a fresh temporary directory (removed afterwards) and returns the figures. */
    public static List<Round> run(Settings settings, PrintStream log) throws Exception {
        Path dir = Files.createTempDirectory("mxd-crash");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // smtp-sink dumps as nobody
        try {
            int smtpPort = FreePort.tcpAndUdp("127.0.0.1");
            int sinkPort = FreePort.tcpOn(SINK_HOST);
            Path zone = Files.writeString(dir.resolve("dest.test.zone"), String.join("\n",
                    "$ORIGIN dest.test.", "$TTL 300",
                    "@ IN SOA ns.dest.test. hostmaster.dest.test. ( 1 3600 600 86400 60 )",
                    "@ IN NS ns", "ns IN A 127.0.0.53",
                    "@ MX 10 sink", "sink IN A " + SINK_HOST, "") + "\n");
            try (MxdDnsServer dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0))) {
                Path dumpDir = dir.resolve("dumps");
                Files.createDirectories(dumpDir);
                Files.setPosixFilePermissions(dumpDir, PosixFilePermissions.fromString("rwxrwxrwx"));
                // %d%H%M%S plus smtp-sink's random suffix: names cannot collide within a run.
                try (SmtpSink sink = SmtpSink.start(SINK_HOST, sinkPort, "-d", dumpDir + "/%d%H%M%S.")) {
                    return new CrashHarness(dir, settings, log, smtpPort, sinkPort, dns.address()).rounds(sink);
                }
            }
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    private List<Round> rounds(SmtpSink sink) throws Exception {
        log.printf("crash harness: %d rounds of %d messages, %d senders, seed %d; mxd on 127.0.0.1:%d, smtp-sink on %s%n",
                settings.rounds(), settings.messages(), settings.senders(), settings.seed(), smtpPort, sink.address());
        List<Round> rounds = new ArrayList<>();
        MxdProcess mxd = MxdProcess.serve(config, dir.resolve("mxd.log"));
        try {
            for (int r = 1; r <= settings.rounds(); r++) {
                RoundResult round = round(r, mxd);
                mxd = round.mxd();
                rounds.add(round.figures());
                log.println(row(round.figures()));
            }
        } finally {
            mxd.close();
        }
        return rounds;
    }

    private record RoundResult(Round figures, MxdProcess mxd) {}

    private RoundResult round(int r, MxdProcess running) throws Exception {
        MxdProcess mxd = running;
        Set<String> acked = ConcurrentHashMap.newKeySet();
        AtomicInteger next = new AtomicInteger();
        InetSocketAddress server = new InetSocketAddress("127.0.0.1", smtpPort);
        long loadDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < settings.senders(); t++) {
            Thread th = new Thread(() -> send(server, r, next, acked, loadDeadline), "crash-sender-" + t);
            th.setDaemon(true);
            th.start();
            senders.add(th);
        }
        int spooledAtKills = 0;
        // Kill 1: under load, at a random acknowledgement count in the middle of the round.
        int killAt = settings.messages() / 5 + random.nextInt(Math.max(1, settings.messages() * 3 / 5));
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        Await.within(Duration.ofNanos(Math.max(0, until - System.nanoTime())), Duration.ofMillis(1),
                () -> acked.size() >= killAt || next.get() >= settings.messages());
        mxd.kill9();
        spooledAtKills += spooled();
        mxd = MxdProcess.serve(config, dir.resolve("mxd.log"));
        for (Thread th : senders) {
            th.join(TimeUnit.MINUTES.toMillis(10));
        }
        // Kill 2: while mxd delivers the backlog, 0 to 500 ms after the last message was sent.
        Thread.sleep(random.nextInt(500)); // the random kill moment is what is under test
        mxd.kill9();
        spooledAtKills += spooled();
        long restarted = System.nanoTime();
        mxd = MxdProcess.serve(config, dir.resolve("mxd.log"));

        long drainDeadline = restarted + settings.drainTimeout().toNanos();
        long drained = -1;
        if (Await.within(Duration.ofNanos(Math.max(0, drainDeadline - System.nanoTime())), Duration.ofMillis(100),
                () -> received(r).keySet().containsAll(acked) && spooled() == 0)) {
            drained = System.nanoTime();
        }
        Thread.sleep(300); // a late duplicate would arrive now, if at all: an absence has no condition to wait for
        Map<String, Integer> received = received(r);
        int got = 0;
        int lost = 0;
        for (String id : acked) {
            if (received.containsKey(id)) {
                got++;
            } else {
                lost++;
            }
        }
        int duplicated = received.values().stream().mapToInt(n -> n - 1).sum();
        int unacked = (int) received.keySet().stream().filter(id -> !acked.contains(id)).count();
        Duration drain = drained < 0 ? settings.drainTimeout() : Duration.ofNanos(drained - restarted);
        return new RoundResult(new Round(r, Math.min(next.get(), settings.messages()), acked.size(), got, lost, duplicated,
                unacked, spooledAtKills, 2, drain), mxd);
    }

    /**
     * One client: takes the next id, sends it (MAIL, RCPT, DATA pipelined), remembers it when the
     * reply after the text is 250. On any failure (mxd killed) it reconnects until mxd is back.
     */
    private void send(InetSocketAddress server, int round, AtomicInteger next, Set<String> acked, long deadline) {
        while (next.get() < settings.messages() && System.nanoTime() < deadline) {
            try (RawSmtp c = new RawSmtp(server)) {
                if (c.code() != 220) {
                    continue;
                }
                c.send("EHLO crash-sender.test\r\n");
                if (c.code() != 250) {
                    continue;
                }
                for (int n = next.getAndIncrement(); n < settings.messages() && System.nanoTime() < deadline;
                     n = next.getAndIncrement()) {
                    String id = "r" + round + "-" + n;
                    c.send("MAIL FROM:<load@sender.test>\r\nRCPT TO:<u" + n + "@dest.test>\r\nDATA\r\n");
                    if (c.code() != 250 || c.code() != 250 || c.code() != 354) {
                        break;
                    }
                    c.send(message(id));
                    if (c.reply().startsWith("250 ")) {
                        acked.add(id);
                    } else {
                        break;
                    }
                }
            } catch (IOException | RuntimeException refusedOrKilled) {
                try {
                    Thread.sleep(50); // mxd is down: it is being restarted
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static String message(String id) {
        StringBuilder body = new StringBuilder(2048);
        body.append("Message-ID: <").append(id).append("@crash.test>\r\nX-Crash-Id: ").append(id)
                .append("\r\nSubject: crash harness ").append(id).append("\r\n\r\n");
        for (int i = 0; i < 20; i++) {
            body.append("line ").append(i).append(" of a message that must not be lost, ").append(id).append("\r\n");
        }
        return body.append("crash-end ").append(id).append("\r\n.\r\n").toString();
    }

    /** Complete dumps at the sink for this round's ids: id → copies. */
    private Map<String, Integer> received(int round) throws IOException {
        Map<String, Integer> copies = new HashMap<>();
        String prefix = "r" + round + "-";
        try (Stream<Path> files = Files.list(dumps)) {
            for (Path f : files.toList()) {
                String id = dumpIds.get(f);
                if (id == null) {
                    id = completeDumpId(f);
                    if (id == null) {
                        continue;
                    }
                    dumpIds.put(f, id);
                }
                if (id.startsWith(prefix)) {
                    copies.merge(id, 1, Integer::sum);
                }
            }
        }
        return copies;
    }

    /** The id of a dump whose text arrived whole (its last line names the id), else null. */
    private static String completeDumpId(Path f) throws IOException {
        String text;
        try {
            text = Files.readString(f, StandardCharsets.ISO_8859_1);
        } catch (java.nio.file.NoSuchFileException gone) {
            return null;
        }
        Matcher m = ID.matcher(text);
        if (!m.find()) {
            return null;
        }
        return text.endsWith("crash-end " + m.group(1) + "\n\n") ? m.group(1) : null;
    }

    /** Envelopes in mxd's queue directories (incoming, active, deferred). */
    private int spooled() throws IOException {
        int n = 0;
        for (String q : QUEUES) {
            Path d = data.resolve("spool").resolve(q);
            if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.list(d)) {
                    n += (int) s.filter(p -> p.toString().endsWith(".json")).count();
                }
            }
        }
        return n;
    }

    static String header() {
        return String.format("| round | sent | acknowledged | received | lost | duplicated | delivered unacknowledged | kills | queued at kills | last kill → drained (restart included) |%n"
                + "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }

    static String row(Round r) {
        return String.format("| %d | %d | %d | %d | %d | %d | %d | %d | %d | %.1f s |", r.round(), r.sent(), r.acknowledged(),
                r.received(), r.lost(), r.duplicated(), r.unacked(), r.kills(), r.spooledAtKills(), r.drain().toMillis() / 1000.0);
    }

    /** The Markdown table of docs/reliability.md, with a total line. */
    public static String table(List<Round> rounds) {
        StringBuilder sb = new StringBuilder(header()).append('\n');
        rounds.forEach(r -> sb.append(row(r)).append('\n'));
        sb.append(String.format("| total | %d | %d | %d | %d | %d | %d | %d | %d | |%n",
                rounds.stream().mapToInt(Round::sent).sum(), rounds.stream().mapToInt(Round::acknowledged).sum(),
                rounds.stream().mapToInt(Round::received).sum(), rounds.stream().mapToInt(Round::lost).sum(),
                rounds.stream().mapToInt(Round::duplicated).sum(), rounds.stream().mapToInt(Round::unacked).sum(),
                rounds.stream().mapToInt(Round::kills).sum(), rounds.stream().mapToInt(Round::spooledAtKills).sum()));
        return sb.toString();
    }

    /** bench/crash.sh: {@code CrashHarness [rounds] [messages] [senders] [seed]}; exit status 1 when anything was lost. */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int messages = args.length > 1 ? Integer.parseInt(args[1]) : 3000;
        int senders = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : System.nanoTime();
        List<Round> result = run(new Settings(rounds, messages, senders, Duration.ofMinutes(5), seed), System.out);
        System.out.println();
        System.out.print(table(result));
        System.exit(result.stream().mapToInt(Round::lost).sum() == 0 ? 0 : 1);
    }
}
