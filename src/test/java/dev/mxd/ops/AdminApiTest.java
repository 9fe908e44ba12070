package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.queue.QueueState;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.Await;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admin listener's HTTP JSON API against an in-process mxd: the token on every call, queue
 * paging and per-message operations, hosts, destinations, health and metrics. Mail for
 * {@code nowhere.test} is relayed (the client is trusted) and deferred for an hour, because the
 * test's DNS server does not answer.
 */
class AdminApiTest {

    private TestMx mx;
    private AdminHttp api;

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.startWithAdmin("delivery:\n  retry: {first: 1h, max: 1h, give-up: 5d}\n");
        api = new AdminHttp(mx);
    }

    @AfterEach
    void stop() {
        mx.close();
    }

    @Test
    void everyApiCallNeedsTheToken() throws Exception {
        for (String path : List.of("/api/queue", "/api/hosts", "/api/quarantine")) {
            assertThat(api.send("GET", path, null).status()).as(path).isEqualTo(401);
            assertThat(api.send("GET", path, "Bearer wrong").status()).as(path).isEqualTo(401);
        }
        // Prometheus scrapes without credentials: /metrics is read as /health is (a wrong token is still refused)
        AdminHttp.Answer scrape = api.send("GET", "/metrics", null);
        assertThat(scrape.status()).isEqualTo(200);
        assertThat(scrape.body()).contains("mxd_messages_received_total");
        assertThat(api.send("GET", "/metrics", "Bearer wrong").status()).isEqualTo(401);
        // a method the path does not take is 405 with or without a token: it says nothing of the data
        assertThat(api.send("POST", "/metrics", null).status()).isEqualTo(405);
        assertThat(api.send("GET", "/api/queue/flush", null).status()).isEqualTo(405);
        // a malformed queue id is a bad parameter (400); 404 is for a message not there
        assertThat(api.send("GET", "/api/queue/abc", "Bearer " + mx.adminToken()).status()).isEqualTo(400);
        assertThat(api.send("GET", "/api/queue/ABCDEF1234", "Bearer " + mx.adminToken()).status()).isEqualTo(404);
        assertThat(api.send("POST", "/api/queue/flush", null).status()).isEqualTo(401);
        assertThat(api.send("GET", "/api/queue", "Bearer " + mx.adminToken()).status()).isEqualTo(200);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(mx.mx().config().adminToken()))).isEqualTo("rw-------");
    }

    /**
     * Clients that open a connection, send a byte and nothing more, as many as the admin pool has threads: the JDK's
     * server read their request lines on its pool threads for ever, and /health, /metrics and the API hung. A request
     * not read whole in 5 s is now closed, and /health answers again.
     */
    @Test
    void connectionsThatNeverFinishARequestDoNotHoldTheAdminListener() throws Exception {
        java.net.URI base = java.net.URI.create(mx.adminUrl());
        List<java.net.Socket> slow = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                java.net.Socket s = new java.net.Socket(base.getHost(), base.getPort());
                s.getOutputStream().write('G');
                s.getOutputStream().flush();
                slow.add(s);
            }
            java.util.concurrent.CompletableFuture<Integer> health =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try {
                            return api.send("GET", "/health", null).status();
                        } catch (Exception e) {
                            throw new java.util.concurrent.CompletionException(e);
                        }
                    });
            assertThat(health.get(40, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(200);
        } finally {
            for (java.net.Socket s : slow) {
                s.close();
            }
        }
    }

    /** A known path asked with another method is 405 with the methods it takes (RFC 9110 §15.5.6), not "no such API". */
    @Test
    void aWrongMethodOnAKnownPathIs405WithAllow() throws Exception {
        String[][] cases = {{"POST", "/api/queue", "GET"}, {"GET", "/api/queue/flush", "POST"}, {"DELETE", "/api/hosts", "GET"},
            {"GET", "/api/hosts/reset", "POST"}, {"PUT", "/api/events", "GET"}, {"POST", "/metrics", "GET"},
            {"POST", "/", "GET, HEAD"}, {"POST", "/health", "GET, HEAD"}, {"PUT", "/api/queue/ZZZZZZZZZZZZ", "GET, DELETE"},
            {"GET", "/api/queue/ZZZZZZZZZZZZ/hold", "POST"}};
        for (String[] c : cases) {
            AdminHttp.Answer a = api.send(c[0], c[1]);
            assertThat(a.status()).as(c[0] + " " + c[1]).isEqualTo(405);
            assertThat(a.allow()).as(c[0] + " " + c[1]).isEqualTo(c[2]);
            assertThat(a.json().path("error").asText()).as(c[0] + " " + c[1]).contains(c[0] + " is not allowed on ").endsWith("use " + c[2]);
        }
        assertThat(api.send("GET", "/api/nothing").status()).isEqualTo(404);
    }

    @Test
    void healthIsOkWithoutTheToken() throws Exception {
        AdminHttp.Answer h = api.send("GET", "/health", null);
        assertThat(h.status()).isEqualTo(200);
        assertThat(h.json().path("status").asText()).isEqualTo("ok");
        assertThat(h.json().path("checks").path("smtp").path("ok").asBoolean()).isTrue();
        assertThat(h.json().path("checks").path("spool").path("ok").asBoolean()).isTrue();
        JsonNode space = h.json().path("checks").path("space");
        assertThat(space.path("ok").asBoolean()).as("%s", space).isTrue();
        assertThat(space.path("free_bytes").asLong()).isPositive().isLessThanOrEqualTo(space.path("total_bytes").asLong());
        assertThat(space.path("min_free_bytes").asLong()).as("1.5 x the default max-message-size").isEqualTo(25L * 1024 * 1024 * 3 / 2);
        assertThat(h.json().path("reasons")).isEmpty();
        assertThat(h.json().path("checks").has("clamd")).as("no domain filters: no engine is probed").isFalse();
    }

    @Test
    void deferredMessageIsListedShownAndSummarisedByDestination() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        JsonNode page = api.get("/api/queue").json();
        assertThat(page.path("total").asInt()).isEqualTo(1);
        assertThat(page.path("states").path("deferred").asInt()).isEqualTo(1);
        JsonNode m = page.path("messages").get(0);
        assertThat(m.path("id").asText()).isEqualTo(id);
        assertThat(m.path("state").asText()).isEqualTo("deferred");
        assertThat(m.path("sender").asText()).isEqualTo("sender@client.test");
        assertThat(m.path("size").asLong()).isEqualTo(mx.mx().spool().envelope(QueueState.DEFERRED, id).size());
        assertThat(Instant.parse(m.path("next_attempt").asText())).isAfter(Instant.now().plus(Duration.ofMinutes(50)));
        JsonNode r = m.path("recipients").get(0);
        assertThat(r.path("address").asText()).isEqualTo("someone@nowhere.test");
        assertThat(r.path("state").asText()).isEqualTo("deferred");
        assertThat(r.path("destination").asText()).isEqualTo("nowhere.test");
        assertThat(r.path("last_reply").asText()).isNotEmpty();

        JsonNode shown = api.get("/api/queue/" + id).json();
        assertThat(shown.path("id")).isEqualTo(m.path("id"));
        assertThat(shown.path("next_attempt")).isEqualTo(m.path("next_attempt"));
        assertThat(shown.path("recipients")).isEqualTo(m.path("recipients"));
        assertThat(api.get("/api/queue/ZZZZZZZZZZZZ").status()).isEqualTo(404);

        JsonNode dest = api.get("/api/destinations").json().path("destinations").get(0);
        assertThat(dest.path("destination").asText()).isEqualTo("nowhere.test");
        assertThat(dest.path("messages").asInt()).isEqualTo(1);
        assertThat(dest.path("deferred").asInt()).isEqualTo(1);

        JsonNode events = api.get("/api/events").json().path("events");
        assertThat(events.get(0).path("id").asText()).isEqualTo(id);
        assertThat(events.get(0).path("status").asText()).isEqualTo("deferred");
    }

    @Test
    void holdReleaseFlushAndDelete() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        AdminHttp.Answer held = api.send("POST", "/api/queue/" + id + "/hold");
        assertThat(held.status()).isEqualTo(200);
        assertThat(held.json().path("to").asText()).isEqualTo("hold");
        assertThat(mx.mx().spool().state(id)).contains(QueueState.HOLD);
        assertThat(api.get("/api/queue/" + id).json().path("next_attempt").isNull()).isTrue();

        AdminHttp.Answer flushHeld = api.send("POST", "/api/queue/" + id + "/flush");
        assertThat(flushHeld.status()).isEqualTo(409);
        assertThat(flushHeld.json().path("error").asText()).contains("on hold");

        assertThat(api.send("POST", "/api/queue/" + id + "/release").status()).isEqualTo(200);
        mx.awaitDeferred(id); // released: tried at once, and deferred again by the dead DNS
        assertThat(api.send("POST", "/api/queue/" + id + "/release").status()).isEqualTo(409);

        assertThat(api.send("POST", "/api/queue/" + id + "/hold").status()).isEqualTo(200);
        assertThat(api.send("DELETE", "/api/queue/" + id).status()).isEqualTo(200);
        assertThat(mx.mx().spool().state(id)).isEmpty();
        assertThat(Files.exists(mx.mx().spool().text(id))).isFalse();
        assertThat(api.send("DELETE", "/api/queue/" + id).status()).isEqualTo(404);
        assertThat(api.send("POST", "/api/queue/" + id + "/hold").status()).isEqualTo(404);
    }

    @Test
    void flushMakesDeferredMailDueNow() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        Instant before = mx.mx().spool().nextAttempt(id);
        assertThat(before).isAfter(Instant.now().plus(Duration.ofMinutes(50)));
        assertThat(api.send("POST", "/api/queue/" + id + "/flush").status()).isEqualTo(200);
        // tried again at once (not in an hour): a second attempt appears among the recent events
        Await.within(Duration.ofSeconds(60), () -> api.get("/api/events").json().path("events").size() >= 2);
        assertThat(api.get("/api/events").json().path("events").size()).isEqualTo(2);
        mx.awaitDeferred(id);
        assertThat(api.send("POST", "/api/queue/flush").json().path("flushed").asInt()).isEqualTo(1);
        Await.within(Duration.ofSeconds(60), () -> api.get("/api/events").json().path("events").size() >= 3);
        assertThat(api.get("/api/events").json().path("events").size()).isEqualTo(3);
    }

    /** A U-label domain names the same destination as its A-labels (lookup and the configuration take both). */
    @Test
    void flushOfADomainTakesItsULabelForm() throws Exception {
        String id = mx.sendTo("someone@xn--bcher-kva.test");
        mx.awaitDeferred(id);
        AdminHttp.Answer flushed = api.send("POST", "/api/queue/flush?domain="
                + java.net.URLEncoder.encode("B\u00fccher.test", java.nio.charset.StandardCharsets.UTF_8));
        assertThat(flushed.status()).as(flushed.body()).isEqualTo(200);
        assertThat(flushed.json().path("domain").asText()).isEqualTo("xn--bcher-kva.test");
        assertThat(flushed.json().path("flushed").asInt()).isEqualTo(1);
    }

    @Test
    void flushOfADomainAndHostResetAnswerWhatTheyDid() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        AdminHttp.Answer other = api.send("POST", "/api/queue/flush?domain=elsewhere.test");
        assertThat(other.status()).isEqualTo(200);
        assertThat(other.json().path("flushed").asInt()).isZero();
        AdminHttp.Answer flushed = api.send("POST", "/api/queue/flush?domain=NOWHERE.test.");
        assertThat(flushed.json().path("domain").asText()).isEqualTo("nowhere.test");
        assertThat(flushed.json().path("flushed").asInt()).isEqualTo(1);
        assertThat(api.send("POST", "/api/queue/flush?domain=a%20b").status()).isEqualTo(400);

        AdminHttp.Answer reset = api.send("POST", "/api/hosts/reset");
        assertThat(reset.status()).isEqualTo(200);
        assertThat(reset.json().path("reset").asInt()).isZero();
        assertThat(api.send("POST", "/api/hosts/reset?host=mx.nowhere.test").json().path("reset").asInt()).isZero();
        assertThat(api.send("POST", "/api/hosts/reset?host=").status()).isEqualTo(400);
        assertThat(api.send("GET", "/api/hosts/reset").status()).isEqualTo(405);
        assertThat(api.send("POST", "/api/hosts/reset", null).status()).isEqualTo(401);
    }

    @Test
    void pagesReadOnlyTheirMessagesInArrivalOrder() throws Exception {
        mx.mx().queue().close(); // nothing moves while the pages are read
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(mx.sendTo("someone@nowhere.test"));
        }
        JsonNode first = api.get("/api/queue?offset=0&limit=2").json();
        JsonNode last = api.get("/api/queue?offset=4&limit=2").json();
        assertThat(first.path("total").asInt()).isEqualTo(5);
        assertThat(first.path("messages").size()).isEqualTo(2);
        assertThat(first.path("messages").get(0).path("id").asText()).isEqualTo(ids.get(0));
        assertThat(first.path("messages").get(1).path("id").asText()).isEqualTo(ids.get(1));
        assertThat(last.path("messages").size()).isEqualTo(1);
        assertThat(last.path("messages").get(0).path("id").asText()).isEqualTo(ids.get(4));
        assertThat(api.get("/api/queue?limit=0").status()).isEqualTo(400);
        assertThat(api.get("/api/queue?limit=x").status()).isEqualTo(400);
    }

    @Test
    void metricsArePrometheusText() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        mx.sendTo("alice@example.test");
        mx.awaitDelivered("alice", 1, Duration.ofSeconds(30));
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            c.code();
            c.send("EHLO client.test\r\n");
            c.code();
            c.send("MAIL FROM:<x@client.test>\r\n");
            c.code();
            c.send("RCPT TO:<nobody@example.test>\r\n");
            assertThat(c.reply()).startsWith("550 5.1.1");
        }
        Await.within(Duration.ofSeconds(30), Duration.ofMillis(50),
                () -> api.get("/metrics").body().contains("mxd_deliveries_total{outcome=\"sent\",transport=\"local\"} 1.0"));
        String text = api.get("/metrics").body();
        assertThat(text)
                .contains("mxd_messages_received_total 2.0")
                .contains("mxd_deliveries_total{outcome=\"sent\",transport=\"local\"} 1.0")
                .contains("mxd_deliveries_total{outcome=\"deferred\",transport=\"smtp\"} 1.0")
                .contains("mxd_deliveries_total{outcome=\"bounced\",transport=\"smtp\"} 0.0")
                .contains("mxd_smtp_rejected_total{code=\"550\",status=\"5.1.1\"} 1.0")
                .contains("mxd_queue_messages{state=\"deferred\"} 1.0")
                .contains("mxd_queue_messages{state=\"hold\"} 0.0")
                .contains("mxd_delivery_latency_seconds_count 1")
                .contains("mxd_delivery_latency_seconds_bucket{le=\"5.0\"} 1")
                .contains("mxd_smtp_sessions_open ")
                .contains("mxd_hosts_postponed 0.0")
                .contains("mxd_dns_queries_total ")
                .contains("mxd_dns_cache_hits_total ")
                .containsPattern("mxd_queue_oldest_age_seconds\\{state=\"deferred\"} [0-9.]+")
                .doesNotContain("nowhere.test").doesNotContain("someone@");
    }
}
