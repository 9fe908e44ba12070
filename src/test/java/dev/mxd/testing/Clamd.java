package dev.mxd.testing;

import dev.mxd.filter.ClamdClient;
import dev.mxd.config.EngineAddress;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;

/**
 * ClamAV's clamd (Debian clamav-daemon) with a signature database the test writes itself: one MD5
 * hash signature of the EICAR test file ({@code Local.EICAR}, reported as
 * {@code Local.EICAR.UNOFFICIAL}), so no freshclam and no download. Listens on a free loopback
 * port and on a unix socket in its directory; starts in about a second.
 */
public final class Clamd extends PeerProcess {

    /** The EICAR anti-virus test file (eicar.org), 68 bytes. */
    public static final String EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    public static final String VIRUS_NAME = "Local.EICAR.UNOFFICIAL";

    private final int port;

    private Clamd(Path dir, List<String> command, int port) throws IOException {
        super("clamd", dir, command);
        this.port = port;
    }

    /** Starts clamd with the given StreamMaxLength (clamd.conf syntax, like "1M"). */
    public static Clamd start(String streamMaxLength) throws IOException, InterruptedException {
        return start(streamMaxLength, FreePort.tcpOn("127.0.0.1"));
    }

    /** On a given loopback port: a clamd that comes back where it was (engine-down tests). */
    public static Clamd start(String streamMaxLength, int port) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("mxd-clamd");
        Path db = Files.createDirectories(dir.resolve("db"));
        byte[] eicar = EICAR.getBytes(StandardCharsets.US_ASCII);
        Files.writeString(db.resolve("local.hdb"), md5(eicar) + ":" + eicar.length + ":Local.EICAR\n");
        StringBuilder conf = new StringBuilder()
                .append("DatabaseDirectory ").append(db).append('\n')
                .append("TCPSocket ").append(port).append('\n')
                .append("TCPAddr 127.0.0.1\n")
                .append("LocalSocket ").append(dir.resolve("clamd.ctl")).append('\n')
                .append("TemporaryDirectory ").append(dir).append('\n')
                .append("StreamMaxLength ").append(streamMaxLength).append('\n')
                .append("MaxThreads 4\n")
                .append("Foreground yes\n");
        if ("root".equals(System.getProperty("user.name"))) {
            conf.append("User root\n"); // else clamd switches to the clamav user, which cannot read the temp dir
        }
        Files.writeString(dir.resolve("clamd.conf"), conf.toString());
        Clamd clamd = new Clamd(dir, List.of("clamd", "-c", dir.resolve("clamd.conf").toString()), port);
        ClamdClient probe = new ClamdClient(clamd.address(), Duration.ofMillis(500), 1024);
        clamd.awaitReady(60, () -> probe.ping().isEmpty());
        return clamd;
    }

    public EngineAddress address() {
        return new EngineAddress.Tcp("127.0.0.1", port);
    }

    public EngineAddress unixSocket() {
        return new EngineAddress.Unix(dir.resolve("clamd.ctl"));
    }

    private static String md5(byte[] data) {
        try {
            return String.format("%032x", new BigInteger(1, MessageDigest.getInstance("MD5").digest(data)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
