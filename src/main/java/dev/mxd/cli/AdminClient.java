package dev.mxd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import dev.mxd.config.HostPort;
import dev.mxd.config.MxdConfig;
import dev.mxd.ops.AdminToken;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The commands' side of the admin API: finds the running server's admin listener and token from
 * its configuration file (or the embedded default's, 127.0.0.1:8025 and ./mxd-data/admin.token),
 * sends one request, and turns what went wrong into a message and an exit status.
 */
final class AdminClient {

    /** Something that stops the command, with its exit status. */
    static final class Failure extends Exception {
        final int status;

        Failure(String message, int status) {
            super(message);
            this.status = status;
        }
    }

    /** An answer: HTTP status and body, as the octets sent (a quarantined message's text is not always UTF-8). */
    record Response(int status, byte[] octets) {
        /** The body as UTF-8 text (JSON, an error). */
        String body() {
            return new String(octets, java.nio.charset.StandardCharsets.UTF_8);
        }

        JsonNode json() throws Failure {
            try {
                return new ObjectMapper().readTree(body());
            } catch (IOException e) {
                throw new Failure("the admin API answered something that is not JSON: " + body(), ExitCodes.SOFTWARE);
            }
        }

        /** The API's error text, for an error answer. */
        String error() {
            try {
                return new ObjectMapper().readTree(body()).path("error").asText(body());
            } catch (IOException e) {
                return body();
            }
        }
    }

    private final HostPort listener;
    private final Path tokenFile;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private AdminClient(HostPort listener, Path tokenFile) {
        this.listener = listener;
        this.tokenFile = tokenFile;
    }

    /** The admin listener of the server run with {@code config} (null: the embedded default). */
    static AdminClient forConfig(Path config) throws Failure {
        MxdConfig c;
        if (config == null) {
            c = MxdConfig.embeddedDefault(System.getProperty("user.name", "postmaster"));
        } else {
            try {
                c = ConfigLoader.load(config);
            } catch (ConfigException e) {
                throw new Failure("invalid configuration: " + e.getMessage(), ExitCodes.CONFIG);
            }
        }
        Optional<HostPort> admin = c.adminListener();
        if (admin.isEmpty()) {
            throw new Failure(config + " has no admin listener; add listen: {admin: \"127.0.0.1:8025\"} to it and restart mxd serve",
                    ExitCodes.CONFIG);
        }
        return new AdminClient(admin.get(), c.adminToken());
    }

    HostPort listener() {
        return listener;
    }

    Response get(String path) throws Failure {
        return send("GET", path);
    }

    Response post(String path) throws Failure {
        return send("POST", path);
    }

    Response delete(String path) throws Failure {
        return send("DELETE", path);
    }

    private Response send(String method, String path) throws Failure {
        AdminToken token;
        try {
            token = AdminToken.read(tokenFile);
        } catch (NoSuchFileException e) {
            throw new Failure("no admin token at " + tokenFile + ": is mxd serve running with this config? (it writes the token when it"
                    + " starts)", ExitCodes.UNAVAILABLE);
        } catch (AccessDeniedException e) {
            throw new Failure("cannot read the admin token " + tokenFile + ": permission denied; run as the user mxd serve runs as",
                    ExitCodes.NOPERM);
        } catch (IOException e) {
            throw new Failure("cannot read the admin token: " + e.getMessage(), ExitCodes.NOPERM);
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + listener + path))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", token.bearer())
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build();
        HttpResponse<byte[]> r;
        try {
            r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw unavailable();
        } catch (HttpTimeoutException e) {
            // a server that is there but busy (a flush of a large queue): not "no server", and it may still be at it
            throw new Failure("the mxd admin listener at " + listener + " did not answer within 60 s; the server may still be"
                    + " doing it (see its log), then try again", ExitCodes.TEMPORARY);
        } catch (IOException e) {
            throw e.getCause() instanceof ConnectException ? unavailable()
                    : new Failure("talking to the mxd admin listener at " + listener + ": " + e, ExitCodes.UNAVAILABLE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted", ExitCodes.TEMPORARY);
        }
        if (r.statusCode() == 401) {
            throw new Failure("the admin listener at " + listener + " refused the token in " + tokenFile
                    + ": is this the configuration the server runs with?", ExitCodes.NOPERM);
        }
        if (r.statusCode() >= 500) {
            // the server could not do it now (its spool or quarantine failed): as the same command without a server, 75
            throw new Failure(new Response(r.statusCode(), r.body()).error(), ExitCodes.TEMPORARY);
        }
        return new Response(r.statusCode(), r.body());
    }

    private Failure unavailable() {
        return new Failure("no mxd admin listener at " + listener + ": is mxd serve running with this config?", ExitCodes.UNAVAILABLE);
    }
}
