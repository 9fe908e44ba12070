package dev.mxd.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Plain HTTP requests to a {@link TestMx}'s admin listener, with or without its token. */
public final class AdminHttp {

    /** An answer: status, body, and the body as JSON; {@code allow} is its Allow field, null without one. */
    public record Answer(int status, String body, String allow) {
        public JsonNode json() throws IOException {
            return new ObjectMapper().readTree(body);
        }
    }

    private final String base;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    public AdminHttp(TestMx mx) throws IOException {
        this.base = mx.adminUrl();
        this.token = mx.adminToken();
    }

    public Answer get(String path) throws Exception {
        return send("GET", path, "Bearer " + token);
    }

    public Answer send(String method, String path) throws Exception {
        return send(method, path, "Bearer " + token);
    }

    /** {@code authorization} null: no header at all. */
    public Answer send(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body(), r.headers().firstValue("Allow").orElse(null));
    }
}
