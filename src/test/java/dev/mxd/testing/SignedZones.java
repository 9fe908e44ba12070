package dev.mxd.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * Real Knot serving three zones for DNSSEC tests: {@code secure.test} signed by Knot's automatic signing,
 * {@code plain.test} unsigned, and {@code broken.test} signed offline by ldns-signzone with signatures
 * valid only in January 2020 (so bogus now). Each has {@code MX 10 mx.ZONE} and {@code mx.ZONE A 127.0.0.1}.
 * The trust anchors are the signed zones' own key-signing keys (DNSKEY, zone-file format), so no recursive
 * resolver is needed.
 */
public final class SignedZones implements AutoCloseable {

    private static final Path ZONES = Paths.get("src/test/resources/zones/dnssec");

    private final Path dir;
    private final KnotServer knot;
    private final Path secureAnchor;
    private final Path anchors;

    private SignedZones(Path dir, KnotServer knot, Path secureAnchor, Path anchors) {
        this.dir = dir;
        this.knot = knot;
        this.secureAnchor = secureAnchor;
        this.anchors = anchors;
    }

    public static SignedZones start() throws Exception {
        Path dir = Files.createTempDirectory("mxd-dnssec");
        KnotServer knot = null;
        try {
            Path broken = signExpired(dir, ZONES.resolve("broken.test.zone"));
            Map<String, Path> zones = new LinkedHashMap<>();
            zones.put("secure.test", ZONES.resolve("secure.test.zone"));
            zones.put("plain.test", ZONES.resolve("plain.test.zone"));
            zones.put("broken.test", broken);
            knot = KnotServer.start(zones, Set.of("secure.test"));
            KnotServer k = knot;
            if (!Await.within(Duration.ofSeconds(15), () -> !keySigningKeys(k, "secure.test").isEmpty())) {
                throw new IOException("Knot did not sign secure.test: " + knot.log());
            }
            Path secureAnchor = dir.resolve("secure.anchor");
            Files.writeString(secureAnchor, String.join("\n", keySigningKeys(knot, "secure.test")) + "\n");
            Path anchors = dir.resolve("anchors");
            Files.writeString(anchors, Files.readString(secureAnchor)
                    + String.join("\n", keySigningKeys(knot, "broken.test")) + "\n");
            return new SignedZones(dir, knot, secureAnchor, anchors);
        } catch (Exception e) {
            if (knot != null) {
                knot.close();
            }
            TestDirs.deleteTree(dir);
            throw e;
        }
    }

    public KnotServer knot() {
        return knot;
    }

    /** {@code 127.0.0.1:PORT} of the server, as {@code dns.servers} and {@code --dns} take it. */
    public String server() {
        return "127.0.0.1:" + knot.port();
    }

    /** The anchor of secure.test only. */
    public Path secureAnchor() {
        return secureAnchor;
    }

    /** The anchors of secure.test and broken.test. */
    public Path anchors() {
        return anchors;
    }

    /** A scratch directory removed on close. */
    public Path dir() {
        return dir;
    }

    /** The zone's DNSKEY records with the SEP flag (257), as Knot serves them, in zone-file format. */
    public static List<String> keySigningKeys(KnotServer knot, String zone) throws IOException {
        SimpleResolver r = new SimpleResolver(knot.address());
        r.setTimeout(Duration.ofSeconds(2));
        Message m = r.send(Message.newQuery(Record.newRecord(Name.fromString(zone + "."), Type.DNSKEY, DClass.IN)));
        List<String> out = new ArrayList<>();
        for (Record rec : m.getSection(Section.ANSWER)) {
            if (rec instanceof DNSKEYRecord k && k.getFlags() == 257) {
                out.add(k.toString());
            }
        }
        return out;
    }

    /** Signs the zone with a fresh ECDSA P-256 key by ldns-signzone, valid only in January 2020. */
    private static Path signExpired(Path dir, Path zone) throws IOException, InterruptedException {
        Path copy = dir.resolve("broken.test.zone");
        Files.copy(zone, copy);
        String key = run(dir, "ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "broken.test").strip();
        run(dir, "ldns-signzone", "-i", "20200101000000", "-e", "20200131000000", copy.toString(), key);
        return dir.resolve("broken.test.zone.signed");
    }

    private static String run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(command[0] + " did not end in 30 s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(command[0] + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    @Override
    public void close() {
        knot.close();
        TestDirs.deleteTree(dir);
    }
}
