package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * delivery.routes only changes at a restart, so a reload (SIGHUP) must check the new domains against
 * the routes in use: a backup domain routed {@code local} that loses its mailboxes would otherwise
 * refuse every recipient, postmaster included, until the next restart.
 */
class ReloadRoutesTest {

    /** Goes on the domains: section TestMx writes (after example.org), then the routes. */
    private static final String KEPT = "  kept.test:\n    role: backup\n    mailboxes: [carol, postmaster]\n"
            + "delivery:\n  routes:\n    kept.test: local\n";

    @Test
    void aReloadWhoseDomainsNoLongerFitTheRoutesInUseChangesNothing() throws Exception {
        try (TestMx mx = TestMx.start(KEPT); LogCapture log = LogCapture.start(Level.ERROR)) {
            String before = Files.readString(mx.configFile());
            Files.writeString(mx.configFile(), before.replace("    mailboxes: [carol, postmaster]\n", "")
                    .replace("    kept.test: local\n", "    other.test: \"[127.0.0.9]:2600\"\n"));

            assertThat(mx.mx().reload(mx.configFile())).isFalse();
            assertThat(log.lines()).anySatisfy(l -> assertThat(l)
                    .contains("reload: invalid configuration, still using the previous one")
                    .contains("delivery.routes.kept.test: local, but the backup domain kept.test lists no mailboxes")
                    .contains("the routes in use stay until a restart"));
            // the domains in use are the old ones: carol is still delivered here
            String id = mx.send("", "carol@kept.test", "Subject: kept\r\n\r\nbody\r\n".getBytes());
            assertThat(id).isNotBlank();
            var maildir = mx.mx().maildir("kept.test", "carol").resolve("new");
            dev.mxd.testing.Await.within(Duration.ofSeconds(20), () -> Files.isDirectory(maildir) && Files.list(maildir).count() == 1);
        }
    }
}
