package dev.mxd.demo;

import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.delivery.HostStatusTable;
import dev.mxd.dns.server.DnsServer;
import dev.mxd.dns.server.ServedZone;
import dev.mxd.dns.server.ZoneFileException;
import dev.mxd.dns.server.Zones;
import dev.mxd.node.ReceivingMx;
import dev.mxd.queue.Spool;
import dev.mxd.tls.TlsResults;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TLSARecord;
import org.xbill.DNS.TextParseException;

/**
 * The machines of {@code mxd demo}, all in this JVM and on loopback only: an authoritative
 * DNS server ({@code mxd dns}) for example.test, that domain's three MX hosts and a sending
 * node. Every node is a whole {@link ReceivingMx} started from its own YAML file and data
 * directory, so stopping mx1 and starting it again on the same directory does to its spool
 * and Maildir what a restart of a real server does.
 *
 * <p>With {@code --secure} the zone is signed at start with a key made for the run
 * ({@link DemoZoneSigner}), each MX host gets a self-signed certificate ({@link DemoCertificate})
 * published by a {@code TLSA 3 1 1} record at {@code _25._tcp.HOST}, and every node validates
 * DNSSEC from the zone's key ({@code dns.dnssec: validate}, {@code dns.trust-anchors}) with DANE on.
 *
 * <p>Nothing can leave the machine: every node asks only the demo's DNS server, which answers
 * for example.test alone, and every address in the zone is a 127.0.0.x address.
 */
final class DemoCluster implements AutoCloseable {

    static final String DOMAIN = "example.test";
    static final String MAILBOX = "alice";
    static final String SENDER_DOMAIN = "demo.test";
    static final String SENDER_MAILBOX = "demo";

    /** A node of the demo: its name, its loopback address and what it is for example.test. */
    enum Node {
        SENDER("sender", "127.0.0.10", "sending MTA: relays a trusted client's mail by MX"),
        MX1("mx1", "127.0.0.11", "MX 10, final destination: Maildir"),
        MX2("mx2", "127.0.0.12", "MX 20, backup: holds mail for mx1"),
        MX3("mx3", "127.0.0.13", "MX 20, backup: holds mail for mx1");

        final String label;
        final String address;
        final String role;

        Node(String label, String address, String role) {
            this.label = label;
            this.address = address;
            this.role = role;
        }
    }

    /** What one node holds and has taken, at one moment. */
    record NodeCounts(Node node, boolean running, long accepted, int queued) {}

    /** A running node, or the last instance of a stopped one (its spool can still be counted). */
    private static final class Slot {
        final MxdConfig config;
        final AtomicLong accepted = new AtomicLong();
        ReceivingMx mx;
        boolean running;

        Slot(MxdConfig config) {
            this.config = config;
        }
    }

    /** Days the demo's signatures and certificates are valid: a kept directory stays usable for a while. */
    static final int VALID_DAYS = 7;

    private final Path dir;
    private final boolean keep;
    private final Security security;
    private final int port;
    private final DnsServer dns;
    private final Map<Node, Slot> nodes = new EnumMap<>(Node.class);
    private boolean closed;

    /**
     * What {@code --secure} adds: the zone's key tag and anchor file, each MX host's certificate and key files,
     * and who hears the nodes' TLS outcomes. {@link #NONE} for the plain demo.
     */
    record Security(boolean on, int keyTag, Path anchor, Map<Node, Path[]> certificates, TlsResults listener) {
        static final Security NONE = new Security(false, 0, null, Map.of(), TlsResults.NONE);
    }

    private DemoCluster(Path dir, boolean keep, int port, DnsServer dns, Security security) {
        this.dir = dir;
        this.keep = keep;
        this.security = security;
        this.port = port;
        this.dns = dns;
    }

    /**
     * Writes the zone file and the four node configurations into {@code dir}, then starts the
     * DNS server, the MX hosts and the sending node. On failure everything started is stopped.
     */
    static DemoCluster start(Path dir, boolean keep) throws IOException {
        return start(dir, keep, false, TlsResults.NONE);
    }

    /**
     * As {@link #start(Path, boolean)}; {@code secure}: the zone signed with TLSA records, certificates for the
     * MX hosts, validating nodes with DANE on, and {@code tlsListener} told every delivery session's TLS outcome.
     */
    static DemoCluster start(Path dir, boolean keep, boolean secure, TlsResults tlsListener) throws IOException {
        Files.createDirectories(dir);
        int port;
        DnsServer dns;
        Security security = Security.NONE;
        try {
            port = freePortOnEvery(Stream.of(Node.values()).map(n -> n.address).toList());
            String zone = zoneText();
            if (secure) {
                Map<Node, Path[]> files = new EnumMap<>(Node.class);
                List<Record> tlsa = new ArrayList<>();
                for (Node n : List.of(Node.MX1, Node.MX2, Node.MX3)) {
                    DemoCertificate cert = DemoCertificate.create(hostname(n), VALID_DAYS);
                    files.put(n, cert.write(dir, n.label));
                    tlsa.add(tlsaRecord(n, cert));
                }
                DemoZoneSigner.Signed signed = DemoZoneSigner.sign(origin(), zone, tlsa, Instant.now(), VALID_DAYS);
                zone = signed.text();
                Path anchor = Files.writeString(dir.resolve(DOMAIN + ".anchor"), signed.anchor());
                security = new Security(true, signed.key().getFootprint(), anchor, files, tlsListener);
            }
            dns = startDns(Files.writeString(dir.resolve(DOMAIN + ".zone"), zone), "demo");
        } catch (IOException | RuntimeException e) {
            if (!keep) {
                deleteTree(dir);
            }
            throw e;
        }
        DemoCluster c = new DemoCluster(dir, keep, port, dns, security);
        try {
            for (Node n : Node.values()) {
                Path file = Files.writeString(dir.resolve(n.label + ".yaml"), c.configText(n));
                c.nodes.put(n, new Slot(ConfigLoader.load(file)));
            }
            for (Node n : List.of(Node.MX1, Node.MX2, Node.MX3, Node.SENDER)) {
                c.startNode(n);
            }
            return c;
        } catch (ConfigException e) {
            c.close();
            throw new IllegalStateException("the demo's own configuration does not load: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** An authoritative server for one zone file the program wrote itself ({@code whose}: "demo", "training"), on a free loopback port. */
    static DnsServer startDns(Path zone, String whose) throws IOException {
        try {
            return DnsServer.start(new Zones(List.of(ServedZone.load(zone))), new InetSocketAddress("127.0.0.1", 0),
                    DnsServer.Limits.defaults());
        } catch (ZoneFileException e) {
            throw new IllegalStateException("the " + whose + "'s own zone file " + zone + " does not load: " + e.getMessage(), e);
        }
    }

    /** The zone the MX hosts are published in: the seed's picture, one primary and two equal backups. */
    static String zoneText() {
        return String.join("\n",
                "; mxd demo: example.test with one primary MX and two backups of equal preference",
                "$ORIGIN " + DOMAIN + ".",
                "$TTL 60",
                "@    IN SOA ns." + DOMAIN + ". hostmaster." + DOMAIN + ". ( 1 3600 600 86400 60 )",
                "@    IN NS  ns",
                "ns   IN A   127.0.0.1",
                "@    IN MX  10 mx1",
                "@    IN MX  20 mx2",
                "@    IN MX  20 mx3",
                "mx1  IN A   " + Node.MX1.address,
                "mx2  IN A   " + Node.MX2.address,
                "mx3  IN A   " + Node.MX3.address,
                "");
    }

    /** {@code _25._tcp.HOST. TLSA 3 1 1}: DANE-EE, the certificate's public key, SHA-256 (RFC 7671 §5.1, RFC 7672 §3.1.1). */
    static TLSARecord tlsaRecord(Node n, DemoCertificate cert) {
        try {
            return new TLSARecord(Name.fromString("_25._tcp." + hostname(n) + "."), DClass.IN, 60,
                    TLSARecord.CertificateUsage.DOMAIN_ISSUED_CERTIFICATE, TLSARecord.Selector.SUBJECT_PUBLIC_KEY_INFO,
                    TLSARecord.MatchingType.SHA256, HexFormat.of().parseHex(cert.spkiSha256()));
        } catch (TextParseException e) {
            throw new IllegalStateException("not a host name: " + hostname(n), e);
        }
    }

    static Name origin() {
        return Name.fromConstantString(DOMAIN + ".");
    }

    /**
     * One node's configuration. Retry times are seconds instead of Postfix's minutes so that the
     * outage and the hand-over fit in a few seconds; everything else is an ordinary mxd.
     */
    private String configText(Node n) {
        String domains = switch (n) {
            case SENDER -> "  " + SENDER_DOMAIN + ":                # bounces would land here; the demo checks there are none\n"
                    + "    role: local\n    mailboxes: [" + SENDER_MAILBOX + "]\n    aliases: {postmaster: " + SENDER_MAILBOX + "}\n";
            case MX1 -> "  " + DOMAIN + ":\n    role: local\n    mailboxes: [" + MAILBOX + "]\n    aliases: {postmaster: " + MAILBOX + "}\n";
            case MX2, MX3 -> "  " + DOMAIN + ":\n    role: backup\n";
        };
        return "# mxd demo: " + n.label + " (" + n.address + "), " + n.role + "\n"
                + "hostname: " + hostname(n) + "\n"
                + "listen:\n  smtp: [\"" + n.address + ":" + port + "\"]\n"
                + "data-dir: " + dir.resolve(n.label).toAbsolutePath() + "\n"
                + "dns:\n  servers: [\"127.0.0.1:" + dns.port() + "\"]   # the demo's own zone: nothing leaves the machine\n"
                + (security.on() ? "  dnssec: validate               # every answer checked from the anchor below\n"
                        + "  trust-anchors: [\"" + security.anchor().toAbsolutePath() + "\"]   # the zone's DNSKEY, made for this run\n" : "")
                + (security.certificates().containsKey(n) ? "tls:                             # STARTTLS; _25._tcp." + hostname(n)
                        + " TLSA 3 1 1 pins its key\n  certificate: " + security.certificates().get(n)[0].toAbsolutePath()
                        + "\n  private-key: " + security.certificates().get(n)[1].toAbsolutePath() + "\n" : "")
                + "trusted-networks: " + (n == Node.SENDER ? "[\"127.0.0.0/8\"]   # the demo's client relays through it" : "[]")
                + "\n"
                + "domains:\n" + domains
                + "limits:\n  max-connections-per-ip: 200   # every node connects from 127.0.0.1 here\n"
                + "timeouts:\n  greet-pause: 0s\n"
                + "delivery:\n"
                + "  port: " + port + "                # MX hosts listen here instead of 25\n"
                + "  connect-timeout: 5s\n  greeting-timeout: 15s\n  command-timeout: 30s\n"
                + "  concurrency: 20\n  concurrency-per-destination: 10\n"
                + "  retry: {first: 1s, max: 1s, give-up: 1h}\n"
                + "  host-retry: {first: 1s, max: 1s}\n"
                + "  scan-interval: 200ms\n"
                + (security.on() ? "  tls:\n    dane: on                       # RFC 7672: MX hosts with secure TLSA records must match them\n" : "");
    }

    static String hostname(Node n) {
        return n == Node.SENDER ? "sender." + SENDER_DOMAIN : n.label + "." + DOMAIN;
    }

    /** Starts a node on its data directory: a stopped mx1 comes back with what its spool held. */
    synchronized void startNode(Node n) throws IOException {
        if (closed) { // a signal's hook closed the cluster under the running burst: start nothing in a removed directory
            throw new IllegalStateException("the demo is stopping; " + n.label + " is not started again");
        }
        Slot s = nodes.get(n);
        if (s.running) {
            return;
        }
        s.mx = ReceivingMx.start(s.config, security.listener());
        s.mx.spool().onAccepted(id -> s.accepted.incrementAndGet());
        s.running = true;
    }

    /** Stops a node as {@code mxd serve} stops on SIGTERM: 421 to open sessions, then delivery ends. */
    synchronized void stopNode(Node n) {
        Slot s = nodes.get(n);
        if (s.running) {
            s.running = false;
            s.mx.close();
        }
    }

    /** Asks a node to retry its deferred mail now, as an operator's {@code flush} does. */
    void flush(Node n) throws IOException {
        Slot s = nodes.get(n);
        if (s.running) {
            s.mx.queue().flush();
        }
    }

    NodeCounts counts(Node n) {
        Slot s = nodes.get(n);
        return new NodeCounts(n, s.running, s.accepted.get(), queued(s.mx.spool()));
    }

    List<NodeCounts> counts() {
        return Stream.of(Node.values()).map(this::counts).toList();
    }

    /**
     * Messages a spool holds: its texts in {@code data/} (docs/spool.md). A text stays put while
     * its envelope moves between state directories, so the count never misses a message in motion.
     * Spare files kept for later texts are not messages.
     */
    private static int queued(Spool spool) {
        try (Stream<Path> texts = Files.list(spool.root().resolve("data"))) {
            return (int) texts.filter(f -> !Spool.isSpare(f)).count();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the spool " + spool.root() + ": " + e.getMessage(), e);
        }
    }

    /** What a node's host status table says about mx1 (failed, passed over until its retry time), if anything. */
    Optional<HostStatusTable.Status> viewOfMx1(Node n) {
        Slot s = nodes.get(n);
        return s.mx.hostStatus().snapshot().stream()
                .filter(st -> st.address().getAddress().getHostAddress().equals(Node.MX1.address)).findFirst();
    }

    InetSocketAddress smtp(Node n) {
        return new InetSocketAddress(n.address, port);
    }

    int port() {
        return port;
    }

    Security security() {
        return security;
    }

    InetSocketAddress dnsAddress() {
        return dns.address();
    }

    Path dir() {
        return dir;
    }

    /** The files in a Maildir's new/ and cur/: delivered messages. */
    List<Path> delivered(Node n, String domain, String mailbox) {
        Path box = nodes.get(n).mx.maildir(domain, mailbox);
        List<Path> out = new ArrayList<>();
        for (String sub : List.of("new", "cur")) {
            Path d = box.resolve(sub);
            if (Files.isDirectory(d)) {
                try (Stream<Path> files = Files.list(d)) {
                    files.forEach(out::add);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot list the Maildir " + d + ": " + e.getMessage(), e);
                }
            }
        }
        return out;
    }

    /** mx1's Maildir for alice@example.test, where the whole burst must end up. */
    List<Path> mx1Maildir() {
        return delivered(Node.MX1, DOMAIN, MAILBOX);
    }

    /** Bounces the sending node wrote back to the demo's sender address (there should be none). */
    List<Path> bounces() {
        return delivered(Node.SENDER, SENDER_DOMAIN, SENDER_MAILBOX);
    }

    /** Stops every node and the DNS server, then removes the directory unless it is to be kept. */
    @Override
    public synchronized void close() {
        if (closed) {
            return; // the shutdown hook of an interrupted demo, then the normal end
        }
        closed = true;
        for (Node n : List.of(Node.SENDER, Node.MX2, Node.MX3, Node.MX1)) {
            Slot s = nodes.get(n);
            if (s != null) {
                stopNode(n);
            }
        }
        dns.close();
        if (!keep) {
            deleteTree(dir);
        }
    }

    /**
     * A port that is free on every one of the addresses at once: the kernel picks one on the
     * first address, and it is kept only if the others can bind it too.
     */
    static int freePortOnEvery(List<String> addresses) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            List<ServerSocket> held = new ArrayList<>();
            try {
                ServerSocket first = new ServerSocket(0, 1, InetAddress.getByName(addresses.get(0)));
                held.add(first);
                int candidate = first.getLocalPort();
                boolean free = true;
                for (String a : addresses.subList(1, addresses.size())) {
                    try {
                        held.add(new ServerSocket(candidate, 1, InetAddress.getByName(a)));
                    } catch (IOException taken) {
                        free = false;
                        break;
                    }
                }
                if (free) {
                    return candidate;
                }
            } finally {
                for (ServerSocket s : held) {
                    s.close();
                }
            }
        }
        throw new IOException("no TCP port is free on all of " + addresses + " after 100 tries; is something binding "
                + "127.0.0.10-13 in a loop?");
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the demo's directory " + root + ": " + e.getMessage()
                    + "; remove it by hand", e);
        }
    }
}
