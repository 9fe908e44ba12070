package dev.mxd.testing;

import dev.mxd.config.EngineAddress;
import dev.mxd.filter.EngineResult;
import dev.mxd.filter.MessageSource;
import dev.mxd.filter.ScanEnvelope;
import dev.mxd.filter.SpamdClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * SpamAssassin's spamd (Debian spamd) with its shipped rules, no sa-update: on a free loopback
 * port, local tests only ({@code -L}: no DNS or network rules), ready in a few seconds. GTUBE
 * scores about 1000.
 */
public final class Spamd extends PeerProcess {

    /** SpamAssassin's Generic Test for Unsolicited Bulk Email. */
    public static final String GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

    private final int port;

    private Spamd(Path dir, List<String> command, int port) throws IOException {
        super("spamd", dir, command);
        this.port = port;
    }

    public static Spamd start() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("mxd-spamd");
        int port = FreePort.tcpOn("127.0.0.1");
        List<String> cmd = new ArrayList<>(List.of("spamd", "-x", "-L", "-p", String.valueOf(port), "-i", "127.0.0.1",
                "-A", "127.0.0.1", "--min-children", "1", "--max-children", "2", "-s", "stderr",
                "--pidfile", dir.resolve("spamd.pid").toString()));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "nobody")); // spamd will not run as root
        }
        Spamd spamd = new Spamd(dir, cmd, port);
        SpamdClient probe = new SpamdClient(spamd.address(), Duration.ofSeconds(2), "mxd");
        MessageSource ping = MessageSource.of("Subject: ping\r\n\r\nping\r\n".getBytes(StandardCharsets.US_ASCII));
        ScanEnvelope env = ScanEnvelope.of("ready", "a@x.test", List.of("b@example.test"));
        spamd.awaitReady(90, () -> probe.scan(ping, env) instanceof EngineResult.Scored);
        return spamd;
    }

    public EngineAddress address() {
        return new EngineAddress.Tcp("127.0.0.1", port);
    }
}
