package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import dev.mxd.testing.Daemon;
import dev.mxd.testing.FreePort;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.Processes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A zone signed offline in the test, with ldns-keygen and ldns-signzone (NSEC, and NSEC3 with
 * {@code -n}) or BIND's dnssec-signzone (NSEC3 with opt-out, {@code -A}), served by mxd and checked by a real validating resolver: BIND's {@code delv} with
 * the zone's key-signing key as its only trust anchor. Positive, NXDOMAIN, NODATA and wildcard
 * answers and a referral must validate; a signature with one byte changed must not; after SIGHUP,
 * {@code mxd dns} serves a zone re-signed with new keys.
 */
@PeerTest
class SignedZoneValidationTest {

    static final String ZONE = """
            $ORIGIN signed.test.
            $TTL 300
            @        IN SOA  ns1.signed.test. hostmaster.signed.test. ( 2026120301 3600 600 86400 120 )
            @        IN NS   ns1
            @        IN MX   10 mx1
            @        IN MX   20 mx2
            ns1      IN A    127.0.0.53
            mx1      IN A    127.0.0.11
            mx1      IN AAAA ::1
            mx2      IN A    127.0.0.12
            *.wild   IN MX   10 mx1
            a.b.ent  IN A    127.0.0.7
            insecure IN NS   ns.other.test.
            """;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"NSEC", "NSEC3", "OPTOUT"})
    void answersValidateUnderTheZonesKey(String denial) throws Exception {
        Path signed = sign(denial);
        try (MxdDnsServer mxd = MxdDnsServer.start(Map.of("signed.test", signed))) {
            int port = mxd.address().getPort();
            assertThat(delv(port, "signed.test", "MX")).contains("; fully validated").contains("mx1.signed.test.");
            assertThat(delv(port, "mx1.signed.test", "AAAA")).contains("; fully validated");
            assertThat(delv(port, "nx.signed.test", "A")).contains("; negative response, fully validated")
                    .contains("NXDOMAIN");
            assertThat(delv(port, "deep.nx.signed.test", "MX")).contains("; negative response, fully validated");
            assertThat(delv(port, "mx1.signed.test", "MX")).contains("; negative response, fully validated");
            assertThat(delv(port, "b.ent.signed.test", "A")).contains("; negative response, fully validated");
            if (denial.equals("OPTOUT")) {
                // the NSEC3 covering the next closer name has opt-out set, so an unsigned delegation might
                // hide there: BIND takes the expansion as insecure (RFC 5155 §9.2), not bogus
                assertThat(delv(port, "foo.wild.signed.test", "MX")).contains("; unsigned answer")
                        .doesNotContain("resolution failed");
            } else {
                assertThat(delv(port, "foo.wild.signed.test", "MX")).contains("; fully validated");
            }
            assertThat(delv(port, "foo.wild.signed.test", "TXT")).contains("; negative response, fully validated");
            // with opt-out, the closest provable encloser proof (the cut is not in the NSEC3 chain)
            assertThat(delv(port, "insecure.signed.test", "DS")).contains("; negative response, fully validated");
        }
    }

    @ParameterizedTest(name = "ldns-signzone {0}")
    @ValueSource(strings = {"NSEC", "NSEC3"})
    void aTamperedSignatureIsBogus(String denial) throws Exception {
        Path signed = sign(denial);
        List<String> lines = Files.readAllLines(signed, StandardCharsets.UTF_8);
        Pattern mxSig = Pattern.compile("^(signed\\.test\\.\\s+\\d+\\s+IN\\s+RRSIG\\s+MX\\s.*\\s)(\\S)(\\S*)$");
        boolean tampered = false;
        for (int i = 0; i < lines.size() && !tampered; i++) {
            Matcher m = mxSig.matcher(lines.get(i));
            if (m.matches()) {
                lines.set(i, m.group(1) + (m.group(2).equals("A") ? "B" : "A") + m.group(3));
                tampered = true;
            }
        }
        assertThat(tampered).as("an RRSIG over the apex MX in %s", signed).isTrue();
        Files.write(signed, lines, StandardCharsets.UTF_8);
        try (MxdDnsServer mxd = MxdDnsServer.start(Map.of("signed.test", signed))) {
            int port = mxd.address().getPort();
            String out = delv(port, "signed.test", "MX");
            assertThat(out).doesNotContain("fully validated").containsIgnoringCase("resolution failed");
            assertThat(delv(port, "mx1.signed.test", "A")).as("the other signatures are untouched").contains("; fully validated");
            // mxd's own validator says bogus (exit 75) in its own words: dnsjava's validator logs the failed signature as
            // an ERROR with its stack trace, and none of that reaches a lookup's stderr or a server's log
            ch.qos.logback.classic.Logger dnsjava = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.xbill.DNS");
            ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen = new ch.qos.logback.core.read.ListAppender<>();
            seen.start();
            dnsjava.addAppender(seen);
            int exit;
            try {
                exit = dev.mxd.cli.Main.run("lookup", "signed.test", "--dns", "127.0.0.1:" + port, "--dnssec", "validate",
                        "--trust-anchor", dir.resolve("anchor.key").toString(), "--json");
            } finally {
                dnsjava.detachAppender(seen);
            }
            assertThat(exit).isEqualTo(75);
            assertThat(seen.list).extracting(e -> e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage()).isEmpty();
        }
    }

    @Test
    void afterSighupMxdDnsServesTheNewSignaturesAndKeys() throws Exception {
        Path served = dir.resolve("served.zone");
        Files.copy(sign("NSEC"), served);
        int port = FreePort.tcpAndUdp("127.0.0.1");
        Path out = dir.resolve("dns.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Daemon dns = Daemon.start("mxd dns", List.of(java, "-cp", System.getProperty("java.class.path"), "dev.mxd.cli.Main",
                "dns", "--zone", served.toString(), "--listen", "127.0.0.1:" + port), null, out);
        try {
            dns.awaitReady(Duration.ofSeconds(60), () -> Processes.log(out).contains("listening on"));
            assertThat(delv(port, "signed.test", "MX")).contains("; fully validated").doesNotContain("mx3.signed.test.");

            // re-signed with new keys (delv's anchor is now the new key), NSEC3 and one more MX
            Path resigned = sign("NSEC3", ZONE + "@ IN MX 30 mx3\nmx3 IN A 127.0.0.13\n");
            Files.copy(resigned, served, StandardCopyOption.REPLACE_EXISTING);
            assertThat(Processes.run("kill", "-HUP", Long.toString(dns.pid()))).isZero();
            assertThat(Await.within(Duration.ofSeconds(20), () -> delv(port, "signed.test", "MX").contains("mx3.signed.test.")))
                    .as(Processes.log(out)).isTrue();
            assertThat(delv(port, "signed.test", "MX")).contains("; fully validated");
            assertThat(delv(port, "nx.signed.test", "A")).contains("; negative response, fully validated");
            dns.stop(Duration.ofSeconds(30));
            assertThat(dns.exitValue()).isZero();
        } finally {
            dns.stop(Duration.ofSeconds(5));
        }
    }

    private Path sign(String denial) throws Exception {
        return sign(denial, ZONE);
    }

    /** Makes a KSK and a ZSK, signs {@code zone} with them, writes delv's anchor; returns the signed file. */
    private Path sign(String denial, String zone) throws Exception {
        Path unsigned = dir.resolve("signed.test.zone");
        Files.writeString(unsigned, zone, StandardCharsets.UTF_8);
        String ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "signed.test").strip();
        String zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "signed.test").strip();
        if (denial.equals("OPTOUT")) {
            // BIND's signer, with the keys in the zone; -A leaves the unsigned delegation out of the NSEC3 chain
            Files.writeString(unsigned, zone + "$INCLUDE " + ksk + ".key\n$INCLUDE " + zsk + ".key\n", StandardCharsets.UTF_8);
            run("dnssec-signzone", "-A", "-3", "-", "-H", "0", "-o", "signed.test", "-f", "signed.test.signed",
                    "signed.test.zone", ksk, zsk);
        } else {
            List<String> cmd = new ArrayList<>(List.of("ldns-signzone", "-f", "signed.test.signed"));
            if (denial.equals("NSEC3")) {
                cmd.addAll(List.of("-n", "-s", "c0ffee", "-t", "1"));
            }
            cmd.addAll(List.of("signed.test.zone", ksk, zsk));
            run(cmd.toArray(String[]::new));
        }
        // "signed.test.	IN	DNSKEY	257 3 13 base64": the anchor delv starts its chain from
        List<String> key = List.of(Files.readString(dir.resolve(ksk + ".key"), StandardCharsets.UTF_8)
                .replaceFirst(";.*", "").strip().split("\\s+"));
        int at = key.indexOf("DNSKEY");
        assertThat(at).as("a DNSKEY in %s", key).isPositive();
        Files.writeString(dir.resolve("anchor.key"), "signed.test. IN DNSKEY " + String.join(" ", key.subList(at + 1, key.size())) + "\n");
        Files.writeString(dir.resolve("anchor.conf"), "trust-anchors {\n  signed.test. static-key " + key.get(at + 1) + " "
                + key.get(at + 2) + " " + key.get(at + 3) + " \"" + String.join("", key.subList(at + 4, key.size())) + "\";\n};\n");
        return dir.resolve("signed.test.signed");
    }

    private String delv(int port, String name, String type) throws Exception {
        return run("delv", "@127.0.0.1", "-p", String.valueOf(port), "-a", dir.resolve("anchor.conf").toString(),
                "+root=signed.test", name, type);
    }

    /** Runs a command in the test's directory for at most 30 s; its output (stdout and stderr). */
    private String run(String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new IOException("did not finish in 30 s: " + command[0]);
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        if (!command[0].equals("delv") && p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + ":\n" + text);
        }
        return text;
    }
}
