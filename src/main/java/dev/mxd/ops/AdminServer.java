package dev.mxd.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.mxd.config.HostPort;
import dev.mxd.delivery.HostStatusTable;
import dev.mxd.smtp.AddressText;
import dev.mxd.filter.Quarantine;
import dev.mxd.queue.QueueChange;
import dev.mxd.queue.QueueManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin listener (docs/operations.md): the HTTP JSON API behind {@code mxd queue} and
 * {@code mxd quarantine --config}, Prometheus metrics at {@code /metrics}, {@code /health}, and
 * the status page at {@code /}.
 *
 * <p>Built on the JDK's {@code com.sun.net.httpserver}: a handful of small requests a minute
 * from one operator need no event loop, and this keeps mxd's dependencies as they are (Netty's
 * HTTP codec is a separate artifact). Every {@code /api/} and {@code /metrics} request must carry
 * {@code Authorization: Bearer TOKEN} ({@link AdminToken}); {@code /health} says only whether mxd
 * is well, and {@code /} is a static page holding no secret (its script asks for the token and
 * sends it with every request, the writes its buttons make included).
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern QUEUE_ID = Pattern.compile("[0-9A-Z]{6,20}");
    private static final Pattern QUEUE_ITEM = Pattern.compile("/api/queue/([^/]+)(/(flush|hold|release))?");
    private static final Pattern QUARANTINE_ITEM = Pattern.compile("/api/quarantine/([^/]+)(/(release|message))?");

    /** What /health looks at; each check's name and whether it is fine, plus details. */
    @FunctionalInterface
    public interface Health {
        Map<String, ObjectNode> checks();
    }

    /**
     * Everything the admin listener shows or steers.
     *
     * @param quarantine empty when quarantine operations are not available
     */
    public record Parts(AdminToken token, QueueManager queue, QueueView view, Metrics metrics,
                        Optional<QuarantineOperations> quarantine, Health health, Optional<ReportTrigger> tlsReports) {

        public Parts(AdminToken token, QueueManager queue, QueueView view, Metrics metrics,
                     Optional<QuarantineOperations> quarantine, Health health) {
            this(token, queue, view, metrics, quarantine, health, Optional.empty());
        }
    }

    /**
     * Sends the TLS-RPT reports counted so far, now ({@code POST /api/tls-reports/send}); how many were
     * made, or empty when the sending takes longer than the request may wait (it goes on in the background).
     */
    @FunctionalInterface
    public interface ReportTrigger {
        java.util.OptionalInt sendNow();
    }

    private final HttpServer http;
    private final ExecutorService executor;
    private final Parts parts;
    private final byte[] statusPage;

    private AdminServer(HttpServer http, ExecutorService executor, Parts parts, byte[] statusPage) {
        this.http = http;
        this.executor = executor;
        this.parts = parts;
        this.statusPage = statusPage;
    }

    /** Binds {@code listen} (port 0: any free port) and starts serving. */
    public static AdminServer start(HostPort listen, Parts parts) throws IOException {
        byte[] page;
        try (InputStream in = AdminServer.class.getResourceAsStream("status.html")) {
            if (in == null) {
                throw new IOException("the status page resource dev/mxd/ops/status.html is missing from the build");
            }
            page = in.readAllBytes();
        }
        // The JDK's server reads a request's line and headers on a pool thread and, by default, waits for them for ever:
        // two connections that sent one byte each held both threads, and the API, /health and /metrics hung. A request
        // not read whole in 5 s is closed (the JDK checks once a second; an admin request is a line and a few headers),
        // a response not sent in 180 s too (a TLS-RPT send-now waits up to 2 minutes). This bounds such an outage to
        // a few seconds at a time; it does not make the listener immune. Read when the JDK's server class first loads:
        // set before the first server, unless the operator set them (-D).
        setIfAbsent("sun.net.httpserver.maxReqTime", "5");
        setIfAbsent("sun.net.httpserver.maxRspTime", "180");
        HttpServer http;
        try {
            http = HttpServer.create(listen.socketAddress(), 16);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + listen + " for the admin API (listen.admin): " + e.getMessage(), e);
        }
        ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "mxd-admin");
            t.setDaemon(true);
            return t;
        });
        AdminServer server = new AdminServer(http, executor, parts, page);
        http.createContext("/", server::handle);
        http.setExecutor(executor);
        http.start();
        return server;
    }

    private static void setIfAbsent(String property, String value) {
        if (System.getProperty(property) == null) {
            System.setProperty(property, value);
        }
    }

    /** The address bound (a real port when 0 was asked for). */
    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** An HTTP answer: status and JSON body. */
    private record Answer(int status, JsonNode body, String allow) {
        Answer(int status, JsonNode body) {
            this(status, body, null);
        }

        static Answer ok(JsonNode body) {
            return new Answer(200, body);
        }

        static Answer error(int status, String message) {
            ObjectNode o = JSON.createObjectNode();
            o.put("error", message);
            return new Answer(status, o);
        }

        /** 405, with the Allow field RFC 9110 §15.5.6 asks of it. */
        static Answer notAllowed(String method, String what, String allow) {
            ObjectNode o = JSON.createObjectNode();
            o.put("error", method + " is not allowed on " + what + ": use " + allow);
            return new Answer(405, o, allow);
        }
    }

    /** The API's fixed paths and the method each takes: another method there is 405, not "no such API". */
    private static final Map<String, String> FIXED = Map.of("/api/queue", "GET", "/api/queue/flush", "POST",
            "/api/hosts/reset", "POST", "/api/destinations", "GET", "/api/hosts", "GET", "/api/events", "GET",
            "/api/tls-reports/send", "POST", "/api/quarantine", "GET", "/metrics", "GET");

    private void handle(HttpExchange ex) throws IOException {
        try {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            if (path.equals("/") || path.equals("/index.html")) {
                if (!method.equals("GET") && !method.equals("HEAD")) {
                    send(ex, Answer.notAllowed(method, path, "GET, HEAD"));
                    return;
                }
                ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
                // The page loads nothing from elsewhere and may not be framed by another site.
                ex.getResponseHeaders().set("Content-Security-Policy",
                        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'");
                ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
                sendBytes(ex, 200, statusPage);
                return;
            }
            if (path.equals("/health")) {
                send(ex, method.equals("GET") || method.equals("HEAD") ? health() : Answer.notAllowed(method, path, "GET, HEAD"));
                return;
            }
            // Prometheus scrapes without credentials by default, and the metrics name no recipient, domain or host
            // (docs/operations.md, "Metrics"): /metrics is read as /health is. A token sent along is checked all the same.
            boolean scrape = path.equals("/metrics") && method.equals("GET")
                    && ex.getRequestHeaders().getFirst("Authorization") == null;
            if (FIXED.containsKey(path) && !FIXED.get(path).equals(method)) {
                send(ex, Answer.notAllowed(method, path, FIXED.get(path))); // 405 with or without a token: it says nothing of the data
                return;
            }
            if (!scrape && !parts.token().accepts(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"mxd admin\"");
                send(ex, Answer.error(401, "missing or wrong bearer token: send Authorization: Bearer followed by the token from the"
                        + " admin token file (admin-token-file, or DATA-DIR/admin.token)"));
                return;
            }
            if (path.equals("/metrics") && method.equals("GET")) {
                ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                sendBytes(ex, 200, scrape ? sharedScrape() : parts.metrics().scrape().getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (path.matches("/api/quarantine/[^/]+/message") && method.equals("GET")) {
                quarantineMessage(ex, path.split("/")[3]);
                return;
            }
            send(ex, api(method, path, query(ex.getRequestURI().getRawQuery())));
        } catch (IllegalArgumentException e) {
            send(ex, Answer.error(400, e.getMessage()));
        } catch (IOException | RuntimeException e) {
            LOG.error("admin API {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
            send(ex, Answer.error(500, "mxd could not do this: " + e.getMessage()));
        } finally {
            ex.close();
        }
    }

    private Answer api(String method, String path, Map<String, String> query) throws IOException {
        switch (method + " " + path) {
            case "GET /api/queue":
                return Answer.ok(parts.view().page(intParam(query, "offset", 0), intParam(query, "limit", 100)));
            case "POST /api/queue/flush": {
                ObjectNode o = JSON.createObjectNode();
                String domain = query.get("domain");
                if (domain == null) {
                    o.put("flushed", parts.queue().flush());
                } else {
                    o.put("domain", checkedDomain(domain));
                    o.put("flushed", parts.queue().flushDestination(domain));
                }
                return Answer.ok(o);
            }
            case "POST /api/hosts/reset":
                return hostsReset(Optional.ofNullable(query.get("host")));
            case "GET /api/destinations":
                return Answer.ok(parts.view().destinations());
            case "GET /api/hosts":
                return Answer.ok(parts.view().hosts());
            case "GET /api/events":
                return Answer.ok(parts.view().events());
            case "POST /api/tls-reports/send": {
                if (parts.tlsReports().isEmpty()) {
                    return Answer.error(409, "TLS-RPT reports are off (delivery.tls.reports)");
                }
                ObjectNode o = JSON.createObjectNode();
                java.util.OptionalInt made = parts.tlsReports().get().sendNow();
                if (made.isEmpty()) {
                    o.put("sending", true); // still going on: 202 Accepted
                    return new Answer(202, o);
                }
                o.put("reports", made.getAsInt());
                return Answer.ok(o);
            }
            case "GET /api/quarantine":
                return quarantineList(intParam(query, "offset", 0), intParam(query, "limit", 50));
            default:
                break;
        }
        if (FIXED.containsKey(path)) {
            return Answer.notAllowed(method, path, FIXED.get(path));
        }
        Matcher m = QUEUE_ITEM.matcher(path);
        if (m.matches()) {
            return queueItem(method, m.group(1), Optional.ofNullable(m.group(3)));
        }
        m = QUARANTINE_ITEM.matcher(path);
        if (m.matches()) {
            return quarantineItem(method, m.group(1), Optional.ofNullable(m.group(3)));
        }
        return Answer.error(404, "no such API: " + method + " " + path + " (see docs/operations.md)");
    }

    /** A domain name as flush --domain takes it: letters, digits, hyphens and dots (an A-label for IDN). */
    private static String checkedDomain(String domain) {
        String d = domain.trim();
        if (d.chars().anyMatch(c -> c >= 0x80)) { // a U-label name (bücher.example), as lookup and the configuration take it
            try {
                d = dev.mxd.smtp.Idna.toAscii(d.endsWith(".") ? d.substring(0, d.length() - 1) : d);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("domain='" + domain + "' is not a domain name (like example.com): " + e.getMessage());
            }
        }
        if (!d.matches("(?i)[a-z0-9]([a-z0-9-]{0,62})(\\.[a-z0-9]([a-z0-9-]{0,62}))*\\.?") || d.length() > 254) {
            throw new IllegalArgumentException("domain='" + domain + "' is not a domain name (like example.com)");
        }
        d = d.toLowerCase(java.util.Locale.ROOT);
        return d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
    }

    /** Forgets the host status of every MX address, or of those {@code host} names; lists what was forgotten. */
    private Answer hostsReset(Optional<String> host) {
        if (host.isPresent() && host.get().isBlank()) {
            throw new IllegalArgumentException("host= is empty: name an MX host or address, or leave host out to reset all");
        }
        HostStatusTable table = parts.view().hostStatus();
        List<HostStatusTable.Status> gone = host.map(table::forget).orElseGet(table::forgetAll);
        LOG.info("host status reset by the operator: {} ({} address(es) forgotten)", dev.mxd.smtp.LogText.safe(host.orElse("all hosts")), gone.size());
        ObjectNode o = JSON.createObjectNode();
        host.ifPresent(h -> o.put("host", h));
        o.put("reset", gone.size());
        ArrayNode list = o.putArray("hosts");
        for (HostStatusTable.Status s : gone) {
            list.add(s.host() + "[" + AddressText.of(s.address().getAddress()) + "]:" + s.address().getPort());
        }
        return Answer.ok(o);
    }

    private Answer queueItem(String method, String id, Optional<String> action) throws IOException {
        if (!QUEUE_ID.matcher(id).matches()) {
            return Answer.error(400, "'" + id + "' is not a queue id (like 1M4ZK3Q2A1B2C)"); // a bad parameter, not a missing message
        }
        if (action.isEmpty() && method.equals("GET")) {
            return parts.view().message(id).map(Answer::ok).orElseGet(() -> noSuchMessage(id));
        }
        QueueChange change;
        if (action.isEmpty() && method.equals("DELETE")) {
            change = parts.queue().delete(id);
        } else if (action.isPresent() && method.equals("POST")) {
            change = switch (action.get()) {
                case "flush" -> parts.queue().flush(id);
                case "hold" -> parts.queue().hold(id);
                default -> parts.queue().release(id);
            };
        } else {
            return Answer.notAllowed(method, id + action.map(a -> "/" + a).orElse(""), action.isEmpty() ? "GET, DELETE" : "POST");
        }
        return changed(change);
    }

    private static Answer changed(QueueChange change) {
        if (change instanceof QueueChange.Done d) {
            ObjectNode o = JSON.createObjectNode();
            o.put("id", d.id());
            o.put("from", d.from().directory());
            if (d.to().isPresent()) {
                o.put("to", d.to().get().directory());
            } else {
                o.put("deleted", true);
            }
            return Answer.ok(o);
        }
        if (change instanceof QueueChange.Refused r) {
            Answer a = Answer.error(409, r.id() + ": " + r.reason());
            ((ObjectNode) a.body()).put("state", r.state().directory());
            return a;
        }
        return noSuchMessage(change.id());
    }

    private static Answer noSuchMessage(String id) {
        return Answer.error(404, "no message " + id + " in the queue (delivered, deleted, or never there; see mxd queue list)");
    }

    private Answer quarantineList(int offset, int limit) throws IOException {
        if (parts.quarantine().isEmpty()) {
            return Answer.error(404, "this server has no quarantine");
        }
        Quarantine.Page page = parts.quarantine().get().list(offset, limit);
        return Answer.ok(QuarantineOperations.pageJson(page.entries(), page.total(), offset, page.unreadable()));
    }

    private Answer quarantineItem(String method, String id, Optional<String> action) throws IOException {
        if (parts.quarantine().isEmpty()) {
            return Answer.error(404, "this server has no quarantine");
        }
        QuarantineOperations q = parts.quarantine().get();
        if (action.isEmpty() && method.equals("GET")) {
            return q.show(id).map(s -> Answer.ok(s.entry().toJson())).orElseGet(() -> noSuchEntry(id));
        }
        if (action.isEmpty() && method.equals("DELETE")) {
            if (!q.delete(id)) {
                return noSuchEntry(id);
            }
            ObjectNode o = JSON.createObjectNode();
            o.put("id", id);
            o.put("deleted", true);
            return Answer.ok(o);
        }
        if (action.equals(Optional.of("release")) && method.equals("POST")) {
            QuarantineRelease.Outcome out = q.release(id);
            if (out instanceof QuarantineRelease.Outcome.Queued r) {
                ObjectNode o = r.entry().toJson();
                o.put("released_as", r.queueId());
                ArrayNode refused = o.putArray("not_sent");
                r.refused().forEach(refused::add);
                r.kept().ifPresent(k -> o.put("kept_as", k.id()));
                return Answer.ok(o);
            }
            if (out instanceof QuarantineRelease.Outcome.NoRecipients n) {
                return Answer.error(409, "quarantine entry " + id + " not released: the configuration accepts none of its"
                        + " recipients: " + String.join(", ", n.refused())
                        + (n.entry().id().equals(id) ? "" : "; it is in the quarantine as " + n.entry().id()));
            }
            return noSuchEntry(id);
        }
        return Answer.notAllowed(method, "quarantine entry " + id + action.map(a -> "/" + a).orElse(""),
                action.isEmpty() ? "GET, DELETE" : action.get().equals("release") ? "POST" : "GET");
    }

    private static Answer noSuchEntry(String id) {
        return Answer.error(404, "no quarantine entry " + id + " (see mxd quarantine list)");
    }

    private void quarantineMessage(HttpExchange ex, String id) throws IOException {
        Optional<QuarantineOperations.Shown> e = parts.quarantine().isEmpty() ? Optional.empty() : parts.quarantine().get().show(id);
        if (e.isEmpty()) {
            send(ex, noSuchEntry(id));
            return;
        }
        ex.getResponseHeaders().set("Content-Type", "message/rfc822");
        ex.sendResponseHeaders(200, Files.size(e.get().text()));
        try (OutputStream out = ex.getResponseBody()) {
            Files.copy(e.get().text(), out);
        }
    }

    private Answer health() {
        ObjectNode root = JSON.createObjectNode();
        boolean ok = true;
        ObjectNode checks = root.putObject("checks");
        ArrayNode reasons = JSON.createArrayNode();
        for (Map.Entry<String, ObjectNode> c : parts.health().checks().entrySet()) {
            checks.set(c.getKey(), c.getValue());
            if (!c.getValue().path("ok").asBoolean(false)) {
                ok = false;
                reasons.add(c.getKey() + ": " + c.getValue().path("detail").asText());
            }
        }
        root.put("status", ok ? "ok" : "failing");
        root.set("reasons", reasons); // the failing checks, one line each: what a load balancer's log shows
        return new Answer(ok ? 200 : 503, root);
    }

    private static int intParam(Map<String, String> query, String name, int dflt) {
        String v = query.get(name);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("query parameter " + name + "='" + v + "' is not a whole number");
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            out.put(k, eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static void send(HttpExchange ex, Answer a) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (a.allow() != null) {
            ex.getResponseHeaders().set("Allow", a.allow());
        }
        sendBytes(ex, a.status(), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(a.body()));
    }

    private byte[] lastScrape;
    private long lastScrapeAt;

    /**
     * A scrape without a token, served from one made at most a second ago, one at a time: anyone who reaches the
     * listener can ask, and each scrape lists the spool's directories and reads the host status table.
     */
    private synchronized byte[] sharedScrape() {
        long now = System.nanoTime();
        if (lastScrape == null || now - lastScrapeAt > 1_000_000_000L) {
            lastScrape = parts.metrics().scrape().getBytes(StandardCharsets.UTF_8);
            lastScrapeAt = now;
        }
        return lastScrape;
    }

    private static void sendBytes(HttpExchange ex, int status, byte[] body) throws IOException {
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** A check for /health. */
    public static ObjectNode check(boolean ok, String detail) {
        ObjectNode o = JSON.createObjectNode();
        o.put("ok", ok);
        o.put("detail", detail);
        return o;
    }

    /** Stops at once; requests in progress get at most a second to finish. */
    @Override
    public void close() {
        http.stop(1);
        executor.shutdownNow();
    }

}
