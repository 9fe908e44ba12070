package dev.mxd.filter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Rspamd's normal worker over its HTTP API: {@code POST /checkv2} with the message as the body and
 * the SMTP envelope in request headers (Rspamd's protocol documentation, "Rspamd HTTP request":
 * From, Rcpt once per recipient, IP, Helo, Hostname, Queue-Id), answered with JSON carrying
 * {@code score}, {@code required_score}, {@code action} and {@code symbols}. The body is streamed
 * from the message source with a fixed Content-Length; the JSON answer is read up to 1 MiB.
 */
public final class RspamdClient implements ScanEngine {

    /** Rspamd's actions that say the message is spam (its "metric actions"). */
    private static final Set<String> SPAM_ACTIONS = Set.of("reject", "add header", "rewrite subject", "discard", "quarantine");
    private static final int MAX_RESPONSE = 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI checkUri;
    private final Duration timeout;
    private final HttpClient http;

    /** {@code baseUrl} as in the configuration, for example {@code http://127.0.0.1:11333}. */
    public RspamdClient(URI baseUrl, Duration timeout) {
        String base = baseUrl.toString();
        this.checkUri = URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/checkv2");
        this.timeout = timeout;
        // HTTP/1.1: Rspamd speaks no HTTP/2, and the h2c upgrade offer would be one more thing to go wrong
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
    }

    @Override
    public Engine engine() {
        return Engine.RSPAMD;
    }

    @Override
    public EngineResult scan(MessageSource message, ScanEnvelope envelope) {
        long size = message.size();
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> {
                    try {
                        return message.open();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }), size);
        HttpRequest.Builder request = HttpRequest.newBuilder(checkUri).timeout(timeout).POST(body)
                .header("Queue-Id", envelope.queueId());
        if (!envelope.sender().isEmpty()) {
            request.header("From", envelope.sender());
        }
        envelope.recipients().forEach(r -> request.header("Rcpt", r));
        envelope.client().ifPresent(a -> request.header("IP", a.getHostAddress()));
        envelope.helo().ifPresent(h -> request.header("Helo", h));
        envelope.hostname().ifPresent(h -> request.header("Hostname", h));
        CompletableFuture<HttpResponse<byte[]>> sent = http.sendAsync(request.build(), info -> new LimitedBody(MAX_RESPONSE));
        HttpResponse<byte[]> response;
        try {
            response = sent.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            sent.cancel(true);
            return timedOut();
        } catch (InterruptedException e) {
            sent.cancel(true);
            Thread.currentThread().interrupt();
            return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.TIMEOUT, "interrupted while waiting for " + checkUri);
        } catch (ExecutionException e) {
            return failure(e.getCause());
        }
        if (response.statusCode() != 200) {
            return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.ENGINE_ERROR, "HTTP " + response.statusCode()
                    + " from " + checkUri + ": " + ClamdClient.printable(new String(response.body(), StandardCharsets.UTF_8)));
        }
        return parse(response.body());
    }

    private EngineResult.Unavailable timedOut() {
        return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.TIMEOUT,
                "no complete answer from " + checkUri + " within " + timeout.toMillis() + " ms");
    }

    private EngineResult.Unavailable failure(Throwable cause) {
        if (cause instanceof HttpTimeoutException) {
            return timedOut();
        }
        if (cause instanceof ConnectException) {
            return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.REFUSED,
                    "cannot connect to " + checkUri + ": " + cause + " (is rspamd running there?)");
        }
        if (cause instanceof UncheckedIOException u) {
            return EngineResult.Unavailable.messageUnreadable(Engine.RSPAMD, u.getCause());
        }
        return new EngineResult.Unavailable(Engine.RSPAMD, EngineResult.Reason.PROTOCOL_ERROR,
                "POST " + checkUri + " failed: " + cause);
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

    /** Collects a response body up to a limit, then gives up: an answer is a small JSON object. */
    private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final int limit;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private Flow.Subscription subscription;

        LimitedBody(int limit) {
            this.limit = limit;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            for (ByteBuffer b : items) {
                if (buf.size() + b.remaining() > limit) {
                    subscription.cancel();
                    result.completeExceptionally(new IOException("answer longer than " + limit + " bytes"));
                    return;
                }
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                buf.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(buf.toByteArray());
        }
    }

    @Override
    public String toString() {
        return "rspamd at " + checkUri;
    }
}
