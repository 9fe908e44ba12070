package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.config.MxdConfig;
import dev.mxd.mail.Route;
import dev.mxd.ops.Metrics;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.Mailbox;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the configuration in force sends a queued recipient (the queue asks at every attempt, as Postfix
 * re-resolves in its active queue): relay mail of a domain now delivered here to its mailboxes, mailbox mail of
 * a domain no longer delivered here (a backup domain now, or removed) to relay; the postmaster mailbox under
 * a host name no domain has, where notices go when nothing else takes them, stays where it is (the queue
 * outlives a change of hostname).
 */
class RerouteAtReloadTest {

    @Test
    void queuedRoutesFollowTheConfigurationInForce(@TempDir Path dir) throws Exception {
        MxdConfig config = ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  here.test:\n    role: local\n    mailboxes: [alice, postmaster]\n"
                + "  moved.test:\n    role: backup\n", dir.resolve("mxd.yaml"));
        ReceivingMx.Reloadable live = new ReceivingMx.Reloadable(config, Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC()),
                new Metrics(Clock.systemUTC()), Clock.systemUTC());
        assertThat(live.reroute(Mailbox.parse("alice@here.test"), new Route.Relay("here.test")))
                .contains(new Route.Local("here.test", List.of("alice")));
        assertThat(live.reroute(Mailbox.parse("alice@here.test"), new Route.Local("here.test", List.of("alice")))).isEmpty();
        assertThat(live.reroute(Mailbox.parse("bob@moved.test"), new Route.Local("moved.test", List.of("bob"))))
                .contains(new Route.Relay("moved.test"));
        assertThat(live.reroute(Mailbox.parse("carol@gone.test"), new Route.Local("gone.test", List.of("carol"))))
                .contains(new Route.Relay("gone.test"));
        assertThat(live.reroute(Mailbox.parse("dave@far.test"), new Route.Relay("far.test"))).isEmpty();
        assertThat(live.reroute(Mailbox.parse("postmaster@old-name.test"), new Route.Local("old-name.test", List.of("postmaster"))))
                .as("the postmaster fallback of a former hostname").isEqualTo(Optional.empty());
        // here.test removed by a reload: all its queued mail goes for relay, its postmaster's too
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  moved.test:\n    role: backup\n", dir.resolve("mxd.yaml")));
        assertThat(live.reroute(Mailbox.parse("postmaster@here.test"), new Route.Local("here.test", List.of("postmaster"))))
                .contains(new Route.Relay("here.test"));
        assertThat(live.reroute(Mailbox.parse("alice@here.test"), new Route.Local("here.test", List.of("alice"))))
                .contains(new Route.Relay("here.test"));
        // a domain named as this host, removed: the postmaster fallback under the hostname stays (relayed, it would loop)
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n"
                + "domains:\n  mx.test:\n    role: local\n    mailboxes: [postmaster]\n", dir.resolve("mxd.yaml")));
        live.replace(ConfigLoader.parse("hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n", dir.resolve("mxd.yaml")));
        assertThat(live.reroute(Mailbox.parse("postmaster@mx.test"), new Route.Local("mx.test", List.of("postmaster")))).isEmpty();
    }
}
