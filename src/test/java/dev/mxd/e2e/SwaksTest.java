package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestMx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** swaks (a real SMTP client) against mxd: plain, pipelined, STARTTLS, 8-bit body; each message must arrive intact. */
@PeerTest
class SwaksTest {

    static TestMx mx;
    static Path work;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("mxd-swaks");
        Path cert = work.resolve("cert.pem");
        Path key = work.resolve("key.pem");
        dev.mxd.testing.Certificates.selfSigned(cert, key);
        mx = TestMx.start("tls:\n  certificate: " + cert + "\n  private-key: " + key + "\ntimeouts:\n  greet-pause: 100ms\n");
    }

    @AfterAll
    static void stop() {
        mx.close();
        dev.mxd.testing.TestDirs.deleteTree(work);
    }

    private static String swaks(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("swaks", "--server", "127.0.0.1", "--port", String.valueOf(mx.smtp().getPort()),
                "--from", "sender@client.test", "--helo", "client.test"));
        cmd.addAll(List.of(args));
        Path out = work.resolve("swaks-" + System.nanoTime() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("swaks finished").isTrue();
        String log = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(log).isZero();
        return log;
    }

    private static String lastDelivered(String mailbox, int count) throws Exception {
        List<Path> files = mx.awaitDelivered(mailbox, count, Duration.ofSeconds(20));
        assertThat(files).hasSizeGreaterThanOrEqualTo(count);
        Path newest = files.stream().max((a, b) -> Long.compare(a.toFile().lastModified(), b.toFile().lastModified())).orElseThrow();
        return Files.readString(newest, StandardCharsets.UTF_8);
    }

    @Test
    void plainPipelinedTlsAndEightBit() throws Exception {
        String plain = swaks("--to", "alice@example.test", "--h-Subject", "plain", "--body", "plain body");
        assertThat(plain).contains("250 2.0.0 OK queued as");
        assertThat(lastDelivered("alice", 1)).contains("Subject: plain\n").contains("\n\nplain body\n");

        String piped = swaks("--pipeline", "--to", "bob@example.test", "--h-Subject", "pipelined", "--body", "pipelined body");
        assertThat(piped).contains("PIPELINING").contains("250 2.0.0 OK queued as");
        assertThat(lastDelivered("bob", 1)).contains("Subject: pipelined\n").contains("pipelined body\n");

        String tls = swaks("--tls", "--to", "alice@example.test", "--h-Subject", "over-tls", "--body", "secret body");
        assertThat(tls).contains("220 2.0.0 ready to start TLS").contains("250 2.0.0 OK queued as");
        String tlsMessage = lastDelivered("alice", 2);
        assertThat(tlsMessage).contains("with ESMTPS id").contains("Subject: over-tls\n").contains("secret body\n");

        Path eight = work.resolve("8bit.eml");
        byte[] body = ("From: sender@client.test\r\nTo: bob@example.test\r\nSubject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße, café, 日本語\r\n..leading dot line\r\n").getBytes(StandardCharsets.UTF_8);
        Files.write(eight, body);
        String eightBit = swaks("--to", "bob@example.test", "--data", "@" + eight);
        assertThat(eightBit).contains("250 2.0.0 OK queued as");
        String delivered = lastDelivered("bob", 2);
        assertThat(delivered).contains("Subject: 8bit\nContent-Type: text/plain; charset=utf-8\n"
                + "Content-Transfer-Encoding: 8bit\n\nGrüße, café, 日本語\n..leading dot line\n");
    }
}
