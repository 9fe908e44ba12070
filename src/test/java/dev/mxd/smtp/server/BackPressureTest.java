package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.TestMx;
import dev.mxd.testing.UnreadPipelining;
import java.io.BufferedInputStream;
import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Regression (found by ResourceExhaustionTest, issue 6): a client that pipelined NOOPs and never
 * read a reply made mxd queue every reply in memory, about 19 bytes of heap per byte sent (8 MB
 * of NOOPs held 152 MB). Now mxd stops reading while replies wait, and goes on when the client
 * reads them.
 */
class BackPressureTest {

    @Test
    void clientNotReadingRepliesIsNotReadEitherAndIsServedWhenItCatchesUp() throws Exception {
        // Junk commands unlimited here: this is about replies left unread, not about NOOPs (SlowAndJunkClientsTest).
        try (TestMx mx = TestMx.start("limits:\n  max-junk-commands: 10000000\n"); Socket s = new Socket()) {
            s.connect(mx.smtp(), 5000);
            s.setSoTimeout(20_000);
            long before = UnreadPipelining.heapAfterGc();
            UnreadPipelining flooded = UnreadPipelining.flood(s, 16 << 20, Duration.ofSeconds(5));
            long retained = UnreadPipelining.heapAfterGc() - before;
            assertThat(retained).as("heap held for %d octets of unread pipelined NOOPs", flooded.written()).isLessThan(24L << 20);

            // The client catches up: mxd answers on, past what its buffers could ever have held.
            InputStream in = new BufferedInputStream(s.getInputStream());
            int replies = 0;
            int lines = 0;
            for (int b = in.read(); b >= 0 && replies < 400_000; b = in.read()) {
                if (b == '\n' && ++lines > 1) { // the first line is the greeting
                    replies++;
                }
            }
            assertThat(replies).isEqualTo(400_000);
        }
    }
}
