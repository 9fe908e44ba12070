package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.ConfigLoader;
import dev.mxd.ops.Metrics;
import dev.mxd.queue.Spool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store the SMTP server is given tells the spool's free space, with and without a filter in front of the spool
 * (MAIL's SIZE= check asks it). It told none (no limit) through the server's own store, so the check never refused.
 */
class ReceivingStoreSpaceTest {

    @Test
    void theServersStoreTellsTheSpoolsFreeSpace(@TempDir Path dir) throws Exception {
        Spool spool = Spool.open(dir.resolve("spool"), "mx.test", Clock.systemUTC());
        long disk = Files.getFileStore(dir).getTotalSpace();
        for (String filter : new String[] {"", "filters:\n  clamd:\n    address: \"127.0.0.1:3310\"\n"}) {
            String yaml = "hostname: mx.test\ndata-dir: " + dir.resolve("data") + "\n" + filter
                    + "domains:\n  here.test:\n    role: local\n    mailboxes: [alice, postmaster]\n"
                    + (filter.isEmpty() ? "" : "    filter:\n      engines: [clamd]\n");
            ReceivingMx.Reloadable live = new ReceivingMx.Reloadable(ConfigLoader.parse(yaml, dir.resolve("mxd.yaml")), spool,
                    new Metrics(Clock.systemUTC()), Clock.systemUTC());
            assertThat(live.store.freeSpace()).as(filter.isEmpty() ? "spool alone" : "behind the filter").isPositive()
                    .isLessThanOrEqualTo(disk);
        }
    }
}
