package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.delivery.MxRoute;
import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.TestDirs;
import dev.mxd.testing.TestMx;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The status page in a real browser (Debian's headless Chromium): after its script has run, the
 * DOM shows a deferred message's destination, a postponed MX host with its last error, and the
 * recent deferral. Without the token the page asks for it and shows no data.
 */
@PeerTest
class StatusPagePeerTest {

    private TestMx mx;
    private Path profile;

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.startWithAdmin("delivery:\n  retry: {first: 1h, max: 1h, give-up: 5d}\n");
        profile = Files.createTempDirectory("mxd-chromium");
    }

    @AfterEach
    void stop() {
        mx.close();
        TestDirs.deleteTree(profile);
    }

    /** Runs headless Chromium on {@code url} with {@code action} (--dump-dom, --screenshot=…); returns its standard output. */
    private String chromium(String url, String... action) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--window-size=1400,1000", "--virtual-time-budget=8000"));
        cmd.addAll(List.of(action));
        cmd.add(url);
        Path out = Files.createTempFile(profile, "out", ".html");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(profile.resolve("stderr.txt").toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IOException("chromium did not finish in 120 s: " + Files.readString(profile.resolve("stderr.txt")));
        }
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    @Test
    void showsDeferredDestinationPostponedHostAndRecentEvents() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        // What remote delivery records when an MX host refuses connections (its failover is tested in MxDeliveryPeerTest).
        mx.mx().hostStatus().failed(new MxRoute("mx1.nowhere.test", 10, InetAddress.getByName("127.0.0.9"), 25),
                "connect to 127.0.0.9:25: Connection refused");

        String dom = chromium(mx.adminUrl() + "/#token=" + mx.adminToken(), "--dump-dom");

        assertThat(dom).contains("<td class=\"mono\">nowhere.test</td>");
        assertThat(dom).contains("mx1.nowhere.test[127.0.0.9]:25").contains("<span class=\"badge postponed\">postponed</span>")
                .contains("connect to 127.0.0.9:25: Connection refused (1 failure)");
        assertThat(dom).contains(id).contains("<span class=\"badge deferred\">deferred</span>").contains("someone@nowhere.test");
        assertThat(dom).containsPattern("id=\"state-deferred\"><div class=\"n\">1</div>");
        assertThat(dom).contains("updated ").contains("<div id=\"error\" style=\"display: none;\"></div>");
        assertThat(dom).doesNotContain(mx.adminToken()); // the fragment was taken out of the address and never rendered

        Path png = Path.of("target", "status-page.png").toAbsolutePath();
        chromium(mx.adminUrl() + "/#token=" + mx.adminToken(), "--screenshot=" + png, "--hide-scrollbars");
        assertThat(Files.size(png)).isGreaterThan(10_000);
    }

    @Test
    void withoutTheTokenThePageAsksForItAndShowsNothing() throws Exception {
        String id = mx.sendTo("someone@nowhere.test");
        mx.awaitDeferred(id);
        String dom = chromium(mx.adminUrl() + "/", "--dump-dom");
        assertThat(dom).contains("<form id=\"login\">").contains("<main id=\"main\" hidden=\"\">").doesNotContain(id);
        assertThat(new AdminHttp(mx).send("GET", "/", null).status()).isEqualTo(200);
    }
}
