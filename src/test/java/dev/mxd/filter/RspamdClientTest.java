package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.mxd.config.Engine;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Rspamd's /checkv2 JSON and the request mxd sends, against the JDK's HTTP server as a fake. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class RspamdClientTest {

    static final String GTUBE_ANSWER = "{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,\"action\":\"reject\","
            + "\"symbols\":{\"GTUBE\":{\"name\":\"GTUBE\",\"score\":0.0,\"metric_score\":0.0}},"
            + "\"messages\":{\"smtp_message\":\"Gtube pattern\"},\"message-id\":\"undef\",\"time_real\":0.07}";

    @Test
    void parsesScoreRequiredScoreActionAndSymbols() {
        assertThat(RspamdClient.parse(GTUBE_ANSWER.getBytes(StandardCharsets.UTF_8))).isEqualTo(
                new EngineResult.Scored(Engine.RSPAMD, 15.0, 15.0, true, List.of("GTUBE"), Optional.of("reject")));
        assertThat(RspamdClient.parse("{\"score\":-0.1,\"required_score\":15,\"action\":\"no action\",\"symbols\":{}}"
                .getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(new EngineResult.Scored(Engine.RSPAMD, -0.1, 15.0, false, List.of(), Optional.of("no action")));
    }

    @Test
    void errorsAndGarbage() {
        EngineResult.Unavailable e = (EngineResult.Unavailable) RspamdClient.parse("{\"error\":\"cannot parse\"}".getBytes(StandardCharsets.UTF_8));
        assertThat(e.reason()).isEqualTo(EngineResult.Reason.ENGINE_ERROR);
        EngineResult.Unavailable g = (EngineResult.Unavailable) RspamdClient.parse("<html>".getBytes(StandardCharsets.UTF_8));
        assertThat(g.reason()).isEqualTo(EngineResult.Reason.PROTOCOL_ERROR);
        EngineResult.Unavailable m = (EngineResult.Unavailable) RspamdClient.parse("{\"score\":1}".getBytes(StandardCharsets.UTF_8));
        assertThat(m.detail()).contains("missing score, required_score or action");
    }

    @Test
    void envelopeGoesInHeadersOneRcptPerRecipient() throws Exception {
        Map<String, List<String>> seen = new ConcurrentHashMap<>();
        byte[][] body = new byte[1][];
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/checkv2", x -> {
            x.getRequestHeaders().forEach(seen::put);
            body[0] = x.getRequestBody().readAllBytes();
            byte[] answer = GTUBE_ANSWER.getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, answer.length);
            x.getResponseBody().write(answer);
            x.close();
        });
        server.start();
        try {
            ScanEnvelope env = new ScanEnvelope("Q7", "a@x.test", List.of("b@example.test", "c@example.net"),
                    Optional.of(InetAddress.getByName("192.0.2.1")), Optional.of("mx.x.test"), Optional.of("mail.x.test"));
            byte[] text = "Subject: x\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII);
            EngineResult r = new RspamdClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), Duration.ofSeconds(5))
                    .scan(MessageSource.of(text), env);
            assertThat(r).isInstanceOf(EngineResult.Scored.class);
            assertThat(body[0]).isEqualTo(text);
            assertThat(seen.get("Rcpt")).containsExactly("b@example.test", "c@example.net");
            assertThat(seen.get("From")).containsExactly("a@x.test");
            assertThat(seen.get("Ip")).containsExactly("192.0.2.1");
            assertThat(seen.get("Helo")).containsExactly("mx.x.test");
            assertThat(seen.get("Hostname")).containsExactly("mail.x.test");
            // the null sender goes as <>: left out, Rspamd took the sender's own Return-Path field for the envelope's
            String bounce = new String(new RspamdClient(URI.create("http://127.0.0.1:1/checkv2"), Duration.ofSeconds(5))
                    .requestHead(new ScanEnvelope("Q9", "", List.of("b@example.test"), Optional.empty(), Optional.empty(),
                            Optional.empty()), 5), StandardCharsets.UTF_8);
            assertThat(bounce).contains("\r\nFrom: <>\r\n");
            assertThat(seen.get("Queue-id")).containsExactly("Q7");
            assertThat(seen.get("Content-length")).containsExactly(String.valueOf(text.length));
        } finally {
            server.stop(0);
        }
    }

    @Test
    void http500IsEngineErrorAndStallIsTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(2));
        server.createContext("/checkv2", x -> {
            x.getRequestBody().readAllBytes();
            if (x.getRequestHeaders().getFirst("Queue-Id").equals("stall")) {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            x.sendResponseHeaders(500, -1);
            x.close();
        });
        server.start();
        try {
            RspamdClient client = new RspamdClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"), Duration.ofSeconds(3));
            EngineResult.Unavailable e = (EngineResult.Unavailable) client.scan(MessageSource.of(new byte[] {'x'}),
                    ScanEnvelope.of("Q1", "", List.of("b@example.test")));
            assertThat(e.reason()).isEqualTo(EngineResult.Reason.ENGINE_ERROR);
            assertThat(e.detail()).startsWith("HTTP 500 from http://127.0.0.1:");
            EngineResult.Unavailable t = (EngineResult.Unavailable) client.scan(MessageSource.of(new byte[] {'x'}),
                    ScanEnvelope.of("stall", "", List.of("b@example.test")));
            assertThat(t.reason()).isEqualTo(EngineResult.Reason.TIMEOUT);
        } finally {
            release.countDown();
            server.stop(0);
        }
    }

    @Test
    void refusedIsRefused() throws IOException {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        EngineResult.Unavailable u = (EngineResult.Unavailable) new RspamdClient(URI.create("http://127.0.0.1:" + port), Duration.ofSeconds(2))
                .scan(MessageSource.of(new byte[] {'x'}), ScanEnvelope.of("Q1", "", List.of("b@example.test")));
        assertThat(u.reason()).isEqualTo(EngineResult.Reason.REFUSED);
    }

    /**
     * An SMTPUTF8 envelope (RFC 6531) goes out as UTF-8 bytes, which is how Rspamd reads its headers; a
     * HELO with a line break in it cannot start a header of its own. The fake reads the raw request and
     * answers in chunks, as an HTTP/1.1 server may.
     */
    @Test
    void utf8EnvelopeGoesOutAsUtf8BytesAndChunkedAnswersAreRead() throws Exception {
        try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            java.util.concurrent.CompletableFuture<byte[]> request = new java.util.concurrent.CompletableFuture<>();
            Thread server = new Thread(() -> {
                try (java.net.Socket s = listener.accept()) {
                    java.io.InputStream in = s.getInputStream();
                    java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
                    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                        head.write(in.read());
                    }
                    in.readNBytes(5); // the body: "hello"
                    request.complete(head.toByteArray());
                    byte[] json = GTUBE_ANSWER.getBytes(StandardCharsets.UTF_8);
                    java.io.OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.write((Integer.toHexString(10) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(json, 0, 10);
                    out.write(("\r\n" + Integer.toHexString(json.length - 10) + ";x=y\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(json, 10, json.length - 10);
                    out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException e) {
                    request.completeExceptionally(e);
                }
            });
            server.start();
            ScanEnvelope env = new ScanEnvelope("Q8", "jösé@bücher.example", List.of("δοκιμή@example.org", "b@example.test"),
                    Optional.empty(), Optional.of("evil\r\nRcpt: injected@x.test"), Optional.empty());
            EngineResult r = new RspamdClient(URI.create("http://127.0.0.1:" + listener.getLocalPort()), Duration.ofSeconds(5))
                    .scan(MessageSource.of("hello".getBytes(StandardCharsets.US_ASCII)), env);
            assertThat(r).isEqualTo(new EngineResult.Scored(Engine.RSPAMD, 15.0, 15.0, true, List.of("GTUBE"), Optional.of("reject")));
            String head = new String(request.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8);
            assertThat(head).startsWith("POST /checkv2 HTTP/1.1\r\n")
                    .contains("\r\nContent-Length: 5\r\n")
                    .contains("\r\nFrom: jösé@bücher.example\r\n")
                    .contains("\r\nRcpt: δοκιμή@example.org\r\nRcpt: b@example.test\r\n")
                    .contains("\r\nHelo: evil??Rcpt: injected@x.test\r\n")
                    .doesNotContain("\r\nRcpt: injected");
            server.join(5000);
        }
    }
}
