package dev.mxd.filter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.config.Engine;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * Rspamd's normal worker over its HTTP API: {@code POST /checkv2} with the message as the body and
 * the SMTP envelope in request headers (Rspamd's protocol documentation, "Rspamd HTTP request":
 * From, Rcpt once per recipient, IP, Helo, Hostname, Queue-Id), answered with JSON carrying
 * {@code score}, {@code required_score}, {@code action} and {@code symbols}. The body is streamed
 * from the message source with a fixed Content-Length; the JSON answer is read up to 1 MiB.
 *
 * <p>The request is written by mxd itself, one HTTP/1.1 exchange per connection: Rspamd reads
 * header values as raw bytes, and an SMTPUTF8 envelope (RFC 6531) must reach it as the UTF-8 it
 * is, which the JDK's HTTP client cannot send (it refuses characters past Latin-1 in a header and
 * writes the others as '?'). One deadline, {@code timeout}, bounds connect, send and answer.
 */
public final class RspamdClient implements ScanEngine {

    /** Rspamd's actions that say the message is spam (its "metric actions"). */
    private static final Set<String> SPAM_ACTIONS = Set.of("reject", "add header", "rewrite subject", "discard", "quarantine");
    private static final int MAX_RESPONSE = 1024 * 1024;
    private static final int MAX_LINE = 8 * 1024;
    private static final int MAX_HEADERS = 100;
    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] (\\d{3})(?: .*)?");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI checkUri;
    private final Duration timeout;
    private final boolean tls;
    private final String host;
    private final int port;
    private final long maxSize;

    /** {@code baseUrl} as in the configuration, for example {@code http://127.0.0.1:11333}. */
    public RspamdClient(URI baseUrl, Duration timeout) {
        this(baseUrl, timeout, Long.MAX_VALUE);
    }

    /** As above; a message over {@code maxSize} octets is not sent ({@link EngineResult.TooLarge}). */
    public RspamdClient(URI baseUrl, Duration timeout, long maxSize) {
        this.maxSize = maxSize;
        String base = baseUrl.toString();
        this.checkUri = URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/checkv2");
        this.timeout = timeout;
        this.tls = "https".equalsIgnoreCase(checkUri.getScheme());
        if (checkUri.getHost() == null) {
            throw new IllegalArgumentException("rspamd URL '" + baseUrl + "' has no host; write it like http://127.0.0.1:11333");
        }
        String h = checkUri.getHost();
        this.host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h; // an IPv6 literal
        this.port = checkUri.getPort() >= 0 ? checkUri.getPort() : tls ? 443 : 80;
    }

    @Override
    public Engine engine() {
        return Engine.RSPAMD;
    }

    @Override
    public EngineResult scan(MessageSource message, ScanEnvelope envelope) {
        if (message.size() > maxSize) { // not sent, as for spamd
            return new EngineResult.TooLarge(Engine.RSPAMD, message.size(), "over filters.rspamd.max-size " + maxSize);
        }
        return exchange("POST", checkUri, requestHead(envelope, message.size()), message, this::answer, u -> u);
    }

    /**
     * {@code GET /ping} on the same worker (Rspamd's protocol documentation: the normal worker answers
     * {@code pong}): empty when it did, else why not. One deadline, {@code timeout}, as for a scan.
     */
    @Override
    public Optional<EngineResult.Unavailable> ping() {
        String path = checkUri.getRawPath();
        URI pingUri = checkUri.resolve(path.substring(0, path.length() - "checkv2".length()) + "ping");
        byte[] head = ("GET " + pingUri.getRawPath() + " HTTP/1.1\r\nHost: " + checkUri.getRawAuthority()
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        return exchange("GET", pingUri, head, MessageSource.of(new byte[0]), r -> {
            String body = new String(r.body(), StandardCharsets.UTF_8).strip();
            if (r.status() == 200 && body.equals("pong")) {
                return Optional.empty();
            }
            return Optional.of(new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.ENGINE_ERROR, "HTTP " + r.status()
                    + " '" + ClamdClient.printable(body) + "' from " + pingUri + ", expected 200 'pong'"));
        }, Optional::of);
    }

    /**
     * One HTTP exchange with the worker within {@code timeout}: {@code head} (a {@code method} request for
     * {@code uri}), then {@code body} streamed,
     * then the answer read and handed to {@code answer}; any failure goes to {@code failed}.
     */
    private <T> T exchange(String method, URI uri, byte[] head, MessageSource body, Function<Response, T> answer,
                           Function<EngineResult.Unavailable, T> failed) {
        Socket socket = new Socket();
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> alarm = EngineConnection.atDeadline(timeout, () -> {
            expired.set(true);
            closeQuietly(socket);
        });
        try {
            Socket s;
            try {
                s = connect(socket);
            } catch (ConnectException | UnknownHostException e) {
                return failed.apply(new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.REFUSED,
                        "cannot connect to " + uri + ": " + e + " (is rspamd running there?)"));
            } catch (SocketTimeoutException e) {
                return failed.apply(timedOut(uri));
            }
            try (InputStream text = body.open()) {
                OutputStream out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
                out.write(head);
                copy(text, out);
                out.flush();
                return answer.apply(readResponse(new BufferedInputStream(s.getInputStream())));
            }
        } catch (SourceFailure e) {
            return failed.apply(EngineResult.Unavailable.messageUnreadable(Engine.RSPAMD, e.cause));
        } catch (IOException e) {
            if (expired.get()) {
                return failed.apply(timedOut(uri));
            }
            return failed.apply(new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.PROTOCOL_ERROR,
                    method + " " + uri + " failed: " + e));
        } finally {
            alarm.cancel(false);
            closeQuietly(socket);
        }
    }

    private Socket connect(Socket socket) throws IOException {
        socket.connect(new InetSocketAddress(host, port), (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())));
        if (!tls) {
            return socket;
        }
        SSLSocket ssl = (SSLSocket) ((SSLSocketFactory) SSLSocketFactory.getDefault()).createSocket(socket, host, port, true);
        SSLParameters p = ssl.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host of the URL
        ssl.setSSLParameters(p);
        ssl.startHandshake();
        return ssl;
    }

    /**
     * The request line and headers. Header values go out as UTF-8 bytes, which is how Rspamd reads
     * an SMTPUTF8 address; a control character (none can be in an address mxd accepted, but a HELO
     * name is the client's word) is sent as '?' so that no value can end its header line early.
     */
    byte[] requestHead(ScanEnvelope envelope, long size) {
        String path = checkUri.getRawPath() + (checkUri.getRawQuery() == null ? "" : "?" + checkUri.getRawQuery());
        StringBuilder b = new StringBuilder(256).append("POST ").append(path).append(" HTTP/1.1\r\n");
        header(b, "Host", checkUri.getRawAuthority());
        header(b, "Connection", "close");
        header(b, "Content-Length", Long.toString(size));
        header(b, "Queue-Id", envelope.queueId());
        // the null sender as <>: left out, Rspamd takes the Return-Path field the sender wrote as the envelope's
        header(b, "From", envelope.sender().isEmpty() ? "<>" : envelope.sender());
        envelope.recipients().forEach(r -> header(b, "Rcpt", r));
        envelope.client().ifPresent(a -> header(b, "IP", dev.mxd.smtp.AddressText.of(a)));
        envelope.helo().ifPresent(h -> header(b, "Helo", h));
        envelope.hostname().ifPresent(h -> header(b, "Hostname", h));
        return b.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void header(StringBuilder b, String name, String value) {
        b.append(name).append(": ");
        value.codePoints().forEach(c -> b.appendCodePoint(c < 0x20 || c == 0x7f ? '?' : c));
        b.append("\r\n");
    }

    /** A failure to read the message itself, told apart from a failure of the connection. */
    private static final class SourceFailure extends IOException {
        final IOException cause;

        SourceFailure(IOException cause) {
            super(cause);
            this.cause = cause;
        }
    }

    private static void copy(InputStream text, OutputStream out) throws IOException {
        byte[] buf = new byte[64 * 1024];
        while (true) {
            int n;
            try {
                n = text.read(buf);
            } catch (IOException e) {
                throw new SourceFailure(e);
            }
            if (n < 0) {
                return;
            }
            out.write(buf, 0, n);
        }
    }

    /** An HTTP answer: its status code and body. */
    record Response(int status, byte[] body) {}

    /** Reads one HTTP/1.x response: status line, headers, then a body by Content-Length, chunks or up to the close. */
    static Response readResponse(InputStream in) throws IOException {
        String status = line(in);
        Matcher m = STATUS_LINE.matcher(status);
        if (!m.matches()) {
            throw new IOException("not an HTTP status line: '" + ClamdClient.printable(status) + "'");
        }
        long length = -1;
        boolean chunked = false;
        for (int n = 0; ; n++) {
            String h = line(in);
            if (h.isEmpty()) {
                break;
            }
            if (n >= MAX_HEADERS) {
                throw new IOException("more than " + MAX_HEADERS + " response headers");
            }
            int colon = h.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = h.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).strip();
            if (name.equals("content-length")) {
                try {
                    length = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length '" + ClamdClient.printable(value) + "'");
                }
            } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
                chunked = true;
            }
        }
        int code = Integer.parseInt(m.group(1));
        if (chunked) {
            return new Response(code, chunks(in));
        }
        if (length > MAX_RESPONSE) {
            throw new IOException("answer longer than " + MAX_RESPONSE + " bytes");
        }
        if (length >= 0) {
            byte[] body = in.readNBytes((int) length);
            if (body.length < length) {
                throw new IOException("connection closed after " + body.length + " of " + length + " body bytes");
            }
            return new Response(code, body);
        }
        byte[] body = in.readNBytes(MAX_RESPONSE + 1);
        if (body.length > MAX_RESPONSE) {
            throw new IOException("answer longer than " + MAX_RESPONSE + " bytes");
        }
        return new Response(code, body);
    }

    private static byte[] chunks(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = line(in);
            int semi = sizeLine.indexOf(';');
            int size;
            try {
                size = Integer.parseInt((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).strip(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size '" + ClamdClient.printable(sizeLine) + "'");
            }
            if (size < 0 || body.size() + (long) size > MAX_RESPONSE) {
                throw new IOException("answer longer than " + MAX_RESPONSE + " bytes");
            }
            if (size == 0) {
                while (!line(in).isEmpty()) {
                    // trailer fields: not used
                }
                return body.toByteArray();
            }
            byte[] chunk = in.readNBytes(size);
            if (chunk.length < size) {
                throw new IOException("connection closed inside a chunk");
            }
            body.writeBytes(chunk);
            line(in); // the CRLF after the chunk
        }
    }

    /** One line without its CRLF (or LF); end of input before it ends is an error. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(64);
        for (int i = 0; i <= MAX_LINE; i++) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed in the middle of the answer");
            }
            if (b == '\n') {
                String s = buf.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            buf.write(b);
        }
        throw new IOException("answer line longer than " + MAX_LINE + " bytes");
    }

    private EngineResult answer(Response response) {
        if (response.status() != 200) {
            return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.ENGINE_ERROR, "HTTP " + response.status()
                    + " from " + checkUri + ": " + ClamdClient.printable(new String(response.body(), StandardCharsets.UTF_8)));
        }
        return parse(response.body());
    }

    private EngineResult.Unavailable timedOut(URI uri) {
        return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.TIMEOUT,
                "no complete answer from " + uri + " within " + timeout.toMillis() + " ms");
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing: nothing left to do
        }
    }

    /** The /checkv2 JSON answer as a result. */
    static EngineResult parse(byte[] json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            return protocolError("not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) {
            return protocolError("expected a JSON object");
        }
        if (root.has("error")) {
            return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.ENGINE_ERROR,
                    "rspamd answered error: " + root.get("error").asText());
        }
        JsonNode score = root.get("score");
        JsonNode required = root.get("required_score");
        JsonNode action = root.get("action");
        if (score == null || !score.isNumber() || required == null || !required.isNumber() || action == null || !action.isTextual()) {
            return protocolError("missing score, required_score or action");
        }
        List<String> symbols = new ArrayList<>();
        JsonNode syms = root.get("symbols");
        if (syms != null && syms.isObject()) {
            for (Iterator<String> names = syms.fieldNames(); names.hasNext(); ) {
                symbols.add(names.next());
            }
        }
        String a = action.asText();
        return new EngineResult.Scored(Engine.RSPAMD, score.asDouble(), required.asDouble(), SPAM_ACTIONS.contains(a), symbols,
                Optional.of(a));
    }

    private static EngineResult.Unavailable protocolError(String what) {
        return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.PROTOCOL_ERROR, "unreadable rspamd answer: " + what);
    }

    @Override
    public String toString() {
        return "rspamd at " + checkUri;
    }
}
