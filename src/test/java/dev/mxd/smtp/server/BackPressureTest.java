package dev.mxd.smtp.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.TestMx;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
        try (TestMx mx = TestMx.start(""); Socket s = new Socket()) {
            s.connect(mx.smtp(), 5000);
            s.setSoTimeout(20_000);
            long before = heapAfterGc();
            AtomicLong written = new AtomicLong();
            Thread writer = new Thread(() -> {
                byte[] block = "NOOP\r\n".repeat(10_000).getBytes(StandardCharsets.US_ASCII);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                try {
                    OutputStream out = s.getOutputStream();
                    while (written.get() < (16 << 20) && System.nanoTime() < deadline) {
                        out.write(block);
                        written.addAndGet(block.length);
                    }
                } catch (IOException e) {
                    // closed by the test
                }
            }, "noop-flood");
            writer.setDaemon(true);
            writer.start();
            writer.join(7_000);
            long retained = heapAfterGc() - before;
            assertThat(retained).as("heap held for %d octets of unread pipelined NOOPs", written.get()).isLessThan(24L << 20);

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

    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
