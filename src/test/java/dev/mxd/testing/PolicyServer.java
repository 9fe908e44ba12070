package dev.mxd.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real HTTPS server for MTA-STS tests (Python's http.server wrapped with ssl, from
 * {@code src/test/resources/mta-sts/policy_server.py}): serves {@code ROOT/mta-sts.DOMAIN/mta-sts.txt} at
 * {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt} with the certificate and key given, and logs each GET
 * as "wall-clock-ns GET host path". Policies are written with {@link #policy}, before or after the start.
 */
public final class PolicyServer implements AutoCloseable {

    private final Daemon daemon;

    private PolicyServer(Daemon daemon) {
        this.daemon = daemon;
    }

    /**
     * Starts the server on {@code address}:{@code port} serving {@code root}, once it accepts connections.
     *
     * @param dir where the script and the server's output go
     * @param log the request log
     */
    public static PolicyServer start(Path dir, Path root, String address, int port, Path cert, Path key, Path log) throws Exception {
        Path script = dir.resolve("policy_server.py");
        try (InputStream in = PolicyServer.class.getResourceAsStream("/mta-sts/policy_server.py")) {
            Files.write(script, in.readAllBytes());
        }
        Files.createDirectories(root);
        Daemon daemon = Daemon.start("policy server", List.of("python3", script.toString(), root.toString(), address,
                        String.valueOf(port), cert.toString(), key.toString(), log.toString()),
                dir, dir.resolve("policy-server.out")).awaitReady(Duration.ofSeconds(20), () -> {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress(address, port), 200);
                        return true;
                    } catch (IOException e) {
                        return false;
                    }
                });
        return new PolicyServer(daemon);
    }

    /** Writes {@code domain}'s policy under {@code root}: {@code mode}, one mx line per pattern, {@code maxAge}. */
    public static void policy(Path root, String domain, String mode, long maxAge, String... mx) throws IOException {
        Path d = Files.createDirectories(root.resolve("mta-sts." + domain));
        StringBuilder b = new StringBuilder("version: STSv1\r\nmode: " + mode + "\r\n");
        for (String m : mx) {
            b.append("mx: ").append(m).append("\r\n");
        }
        Files.writeString(d.resolve("mta-sts.txt"), b.append("max_age: ").append(maxAge).append("\r\n").toString());
    }

    @Override
    public void close() throws Exception {
        daemon.stop(Duration.ofSeconds(5));
    }
}
