package dev.mxd.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A real authoritative DNS server (Knot DNS, Debian's knot package) for tests: started in a
 * temporary directory on a loopback port with the given zone files, stopped by its PID.
 */
public final class KnotServer implements AuthoritativeDns {

    private final Path dir;
    private final Daemon daemon;
    private final InetSocketAddress address;

    private KnotServer(Path dir, Daemon daemon, InetSocketAddress address) {
        this.dir = dir;
        this.daemon = daemon;
        this.address = address;
    }

    /** Starts knotd serving each origin from its zone file; waits until it answers the first zone's SOA. */
    public static KnotServer start(Map<String, Path> zones) throws IOException, InterruptedException {
        return start(zones, java.util.Set.of());
    }

    /**
     * As {@link #start(Map)}, with the zones named in {@code signed} signed by Knot at load (automatic signing,
     * ECDSA P-256, NSEC); their keys are in Knot's key database, their DNSKEY records in the served zone.
     */
    public static KnotServer start(Map<String, Path> zones, java.util.Set<String> signed) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("mxd-knot");
        Files.createDirectories(dir.resolve("run"));
        Files.createDirectories(dir.resolve("db"));
        int port = FreePort.tcpAndUdp("127.0.0.1");
        StringBuilder conf = new StringBuilder()
                .append("server:\n    listen: 127.0.0.1@").append(port).append('\n')
                .append("    rundir: ").append(dir.resolve("run")).append('\n')
                .append("    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n")
                .append("log:\n  - target: stderr\n    any: warning\n")
                .append("database:\n    storage: ").append(dir.resolve("db")).append('\n')
                .append("template:\n  - id: default\n    zonefile-sync: -1\n    journal-content: none\n");
        if (!signed.isEmpty()) {
            conf.append("policy:\n  - id: test\n    algorithm: ecdsap256sha256\n    nsec3: off\n    cds-cdnskey-publish: none\n");
        }
        conf.append("zone:\n");
        for (Map.Entry<String, Path> z : zones.entrySet()) {
            conf.append("  - domain: ").append(z.getKey()).append('\n')
                    .append("    file: ").append(z.getValue().toAbsolutePath()).append('\n');
            if (signed.contains(z.getKey())) {
                conf.append("    dnssec-signing: on\n    dnssec-policy: test\n");
            }
        }
        Path confFile = dir.resolve("knot.conf");
        Files.writeString(confFile, conf.toString(), StandardCharsets.UTF_8);
        Daemon knotd = Daemon.start("knotd", List.of("knotd", "-c", confFile.toString()), dir, dir.resolve("knotd.log"));
        KnotServer server = new KnotServer(dir, knotd, new InetSocketAddress("127.0.0.1", port));
        try {
            knotd.awaitReady(Duration.ofSeconds(15), () -> server.answers(zones.keySet().iterator().next()));
        } catch (IOException e) {
            TestDirs.deleteTree(dir);
            throw e;
        }
        return server;
    }

    public static KnotServer start(String origin, Path zoneFile) throws IOException, InterruptedException {
        Map<String, Path> zones = new LinkedHashMap<>();
        zones.put(origin, zoneFile);
        return start(zones);
    }

    /** Whether knotd answers a query for the origin's SOA at all (even SERVFAIL, for a zone that failed to load). */
    private boolean answers(String origin) {
        try {
            SimpleResolver r = new SimpleResolver(address);
            r.setTimeout(Duration.ofMillis(200));
            return r.send(Message.newQuery(Record.newRecord(Name.fromString(origin, Name.root), Type.SOA, DClass.IN))) != null;
        } catch (IOException notYet) {
            return false;
        }
    }

    @Override
    public InetSocketAddress address() {
        return address;
    }

    public int port() {
        return address.getPort();
    }

    public String log() {
        return daemon.log();
    }

    @Override
    public void close() {
        daemon.stop(Duration.ofSeconds(10));
        TestDirs.deleteTree(dir);
    }
}
