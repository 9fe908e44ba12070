package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Certificates;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Received header of mail taken over STARTTLS names the TLS version and cipher as Postfix
 * does ({@code (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))}); mail taken
 * in plaintext has no such line. The client is the real swaks.
 */
@PeerTest
class ReceivedTlsTest {

    @Test
    void receivedHeaderNamesTheTlsVersionAndCipher() throws Exception {
        Path work = Files.createTempDirectory("mxd-received-tls");
        Path cert = work.resolve("cert.pem");
        Path key = work.resolve("key.pem");
        Certificates.selfSigned(cert, key);
        try (TestMx mx = TestMx.start("tls:\n  certificate: " + cert + "\n  private-key: " + key + "\ntimeouts:\n  greet-pause: 0s\n")) {
            swaks(work, mx, "--tls", "--to", "alice@example.test", "--h-Subject", "over-tls");
            String tls = Files.readString(mx.awaitDelivered("alice", 1, Duration.ofSeconds(20)).get(0), StandardCharsets.UTF_8);
            assertThat(tls).containsPattern("\nReceived: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\n"
                    + "\t\\(using TLSv1\\.[23] with cipher TLS_[A-Z0-9_]+ \\((128|256)/(128|256) bits\\)\\)\n"
                    + "\tby mx1\\.example\\.test \\(mxd\\) with ESMTPS id ");

            swaks(work, mx, "--to", "bob@example.test", "--h-Subject", "plain");
            String plain = Files.readString(mx.awaitDelivered("bob", 1, Duration.ofSeconds(20)).get(0), StandardCharsets.UTF_8);
            assertThat(plain).contains("\nReceived: from client.test ([127.0.0.1])\n\tby mx1.example.test (mxd) with ESMTP id ")
                    .doesNotContain("(using ");
        } finally {
            TestDirs.deleteTree(work);
        }
    }

    private static void swaks(Path work, TestMx mx, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("swaks", "--server", "127.0.0.1", "--port", String.valueOf(mx.smtp().getPort()),
                "--from", "sender@client.test", "--helo", "client.test"));
        cmd.addAll(List.of(args));
        Path out = work.resolve("swaks-" + System.nanoTime() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("swaks finished").isTrue();
        assertThat(p.exitValue()).as(Files.readString(out)).isZero();
    }
}
