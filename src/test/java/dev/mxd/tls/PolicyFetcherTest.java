package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.dns.DnsClient;
import dev.mxd.dns.DnsSettings;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.MxdDnsServer;
import dev.mxd.testing.TestDirs;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The policy fetch against an in-process HTTPS server (certificate from a private CA) whose answer each test
 * chooses; mta-sts.a.test resolved through mxd's own DNS server, never the system resolver.
 */
class PolicyFetcherTest {

    @TempDir
    static Path dir;
    static MxdDnsServer dns;
    static SSLServerSocket server;
    static Thread serving;
    static final AtomicReference<String> response = new AtomicReference<>();
    static final AtomicReference<String> request = new AtomicReference<>("");
    static PolicyFetcher fetcher;

    @BeforeAll
    static void start() throws Exception {
        Certificates.privateCa(dir.resolve("ca.pem"), dir.resolve("ca.key"));
        Certificates.issuedBy(dir.resolve("ca.pem"), dir.resolve("ca.key"), dir.resolve("web.pem"), dir.resolve("web.key"),
                "mta-sts.a.test", "mta-sts.two.a.test");
        Certificates.openssl("pkcs12", "-export", "-in", dir.resolve("web.pem").toString(), "-inkey", dir.resolve("web.key").toString(),
                "-out", dir.resolve("web.p12").toString(), "-passout", "pass:changeit");
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(dir.resolve("web.p12"))) {
            store.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keys.getKeyManagers(), null, null);
        server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 10, java.net.InetAddress.getByName("127.0.0.1"));
        serving = new Thread(PolicyFetcherTest::serve, "policy-fetcher-test-server");
        serving.setDaemon(true);
        serving.start();
        Path zone = TestDirs.zone(dir, "a.test", "mta-sts IN A 127.0.0.1",
                "mta-sts.u_s IN A 127.0.0.1", "mta-sts.slow IN A 127.0.0.1", "mta-sts.two IN A 127.0.0.2", "mta-sts.two IN A 127.0.0.1");
        dns = MxdDnsServer.start(List.of(zone), new InetSocketAddress("127.0.0.1", 0));
        fetcher = fetcher(Optional.of(dir.resolve("ca.pem")));
    }

    private static PolicyFetcher fetcher(Optional<Path> ca) throws Exception {
        DnsClient client = new DnsClient(DnsSettings.of(List.of(dns.address())));
        return new PolicyFetcher(client, WebPki.of(ca), server.getLocalPort(), Duration.ofSeconds(2), Duration.ofSeconds(5));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        dns.close();
    }

    private static void serve() {
        while (!server.isClosed()) {
            try (SSLSocket s = (SSLSocket) server.accept()) {
                s.setSoTimeout(5000);
                InputStream in = s.getInputStream();
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n") && head.length() < 8192) {
                    int c = in.read();
                    if (c < 0) {
                        break;
                    }
                    head.append((char) c);
                }
                request.set(head.toString());
                OutputStream out = s.getOutputStream();
                out.write(response.get().getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (Exception e) {
                // a client that gave up (an untrusted certificate): next connection
            }
        }
    }

    private static final String POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.a.test\r\nmax_age: 86400\r\n";

    @Test
    void getsThePolicyWithSniHostAndNoRedirects() throws Exception {
        response.set("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + POLICY.length() + "\r\n\r\n" + POLICY);
        assertThat(fetcher.fetch("a.test")).isEqualTo(POLICY);
        assertThat(request.get()).startsWith("GET /.well-known/mta-sts.txt HTTP/1.1\r\n").contains("Host: mta-sts.a.test\r\n");

        response.set("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + POLICY.substring(0, 16) + "\r\n"
                + Integer.toHexString(POLICY.length() - 16) + "\r\n" + POLICY.substring(16) + "\r\n0\r\n\r\n");
        assertThat(fetcher.fetch("a.test")).isEqualTo(POLICY);

        response.set("HTTP/1.0 200 OK\r\n\r\n" + POLICY); // no length: until the server closes
        assertThat(fetcher.fetch("a.test")).isEqualTo(POLICY);
    }

    @Test
    void aRedirectANon2xxOrAnOversizedBodyIsNoPolicy() {
        response.set("HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.test/\r\nContent-Length: 0\r\n\r\n");
        assertThatThrownBy(() -> fetcher.fetch("a.test")).isInstanceOf(PolicyFetcher.FetchFailed.class).hasMessageContaining("301");
        response.set("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        assertThatThrownBy(() -> fetcher.fetch("a.test")).hasMessageContaining("404");
        response.set("HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n");
        assertThatThrownBy(() -> fetcher.fetch("a.test")).hasMessageContaining("65536");
        response.set("HTTP/1.0 200 OK\r\n\r\n" + "x".repeat(70_000));
        assertThatThrownBy(() -> fetcher.fetch("a.test")).hasMessageContaining("65536");
    }

    @Test
    void anUntrustedCertificateOrAMissingHostFails() throws Exception {
        response.set("HTTP/1.1 200 OK\r\nContent-Length: " + POLICY.length() + "\r\n\r\n" + POLICY);
        assertThatThrownBy(() -> fetcher(Optional.empty()).fetch("a.test")).isInstanceOfSatisfying(PolicyFetcher.FetchFailed.class,
                f -> assertThat(f.resultType()).isEqualTo("sts-webpki-invalid"));
        assertThatThrownBy(() -> fetcher.fetch("b.test")).isInstanceOfSatisfying(PolicyFetcher.FetchFailed.class,
                f -> assertThat(f.resultType()).isEqualTo("sts-policy-fetch-error"));
    }

    @Test
    void aDomainWithAnUnderscoreFailsAsAFetchNotAsACrash() {
        // MailDomain allows '_'; a TLS server name does not (review finding 4)
        assertThatThrownBy(() -> fetcher.fetch("u_s.a.test")).isInstanceOfSatisfying(PolicyFetcher.FetchFailed.class,
                f -> assertThat(f.resultType()).isEqualTo("sts-policy-fetch-error"));
    }

    @Test
    void aHugeChunkSizeDoesNotOverflowTheBodyLimit() {
        // 0x7fffffff + the first chunk's byte overflowed an int check (review finding 3)
        response.set("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n7fffffff\r\n" + "x".repeat(100_000));
        assertThatThrownBy(() -> fetcher.fetch("a.test")).isInstanceOf(PolicyFetcher.FetchFailed.class).hasMessageContaining("65536");
        response.set("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000000\r\n" + "x".repeat(100));
        assertThatThrownBy(() -> fetcher.fetch("a.test")).isInstanceOf(PolicyFetcher.FetchFailed.class).hasMessageContaining("65536");
    }

    @Test
    void onlyA200WithTextPlainIsAPolicy() {
        // RFC 8461 §3.3: "200 OK" only; §3.2: text/plain (review finding 9)
        response.set("HTTP/1.1 206 Partial Content\r\nContent-Length: " + POLICY.length() + "\r\n\r\n" + POLICY);
        assertThatThrownBy(() -> fetcher.fetch("a.test")).isInstanceOf(PolicyFetcher.FetchFailed.class).hasMessageContaining("206");
        response.set("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + POLICY.length() + "\r\n\r\n" + POLICY);
        assertThatThrownBy(() -> fetcher.fetch("a.test")).isInstanceOf(PolicyFetcher.FetchFailed.class).hasMessageContaining("text/plain");
    }

    @Test
    void aServerTricklingTheHandshakeIsCutOffAtTheTotalTime() throws Exception {
        // one byte every 500 ms kept a socket timeout per read from ever firing (review finding 2)
        try (java.net.ServerSocket trickle = new java.net.ServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"))) {
            Thread t = new Thread(() -> {
                try (java.net.Socket s = trickle.accept()) {
                    OutputStream out = s.getOutputStream();
                    out.write(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00});
                    for (int i = 0; i < 40; i++) {
                        out.write(0);
                        out.flush();
                        Thread.sleep(500);
                    }
                } catch (Exception e) {
                    // the client hung up
                }
            }, "trickle");
            t.setDaemon(true);
            t.start();
            PolicyFetcher quick = new PolicyFetcher(new DnsClient(DnsSettings.of(List.of(dns.address()))),
                    WebPki.of(Optional.of(dir.resolve("ca.pem"))), trickle.getLocalPort(), Duration.ofSeconds(2), Duration.ofSeconds(2));
            long start = System.nanoTime();
            assertThatThrownBy(() -> quick.fetch("slow.a.test")).isInstanceOfSatisfying(PolicyFetcher.FetchFailed.class,
                    f -> assertThat(f.resultType()).isEqualTo("sts-policy-fetch-error"));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the 2 s total, not the trickle's 20 s").isLessThan(Duration.ofSeconds(10));
        }
    }

    @Test
    void anAddressThatHangsUpInTheHandshakeIsFollowedByTheNext() throws Exception {
        // a closed connection is not a certificate problem: try the next address (review finding 7)
        response.set("HTTP/1.1 200 OK\r\nContent-Length: " + POLICY.length() + "\r\n\r\n" + POLICY);
        java.util.concurrent.atomic.AtomicInteger hungUp = new java.util.concurrent.atomic.AtomicInteger();
        try (java.net.ServerSocket closing = new java.net.ServerSocket(server.getLocalPort(), 5, java.net.InetAddress.getByName("127.0.0.2"))) {
            Thread t = new Thread(() -> {
                while (!closing.isClosed()) {
                    try (java.net.Socket s = closing.accept()) {
                        s.getInputStream().read(new byte[512]); // the ClientHello, then hang up
                        hungUp.incrementAndGet();
                    } catch (Exception e) {
                        return;
                    }
                }
            }, "hang-up");
            t.setDaemon(true);
            t.start();
            assertThat(fetcher.fetch("two.a.test")).isEqualTo(POLICY);
            assertThat(hungUp.get()).as("127.0.0.2 was tried first").isEqualTo(1);
        }
    }
}
