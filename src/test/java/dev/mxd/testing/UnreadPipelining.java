package dev.mxd.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client that pipelines NOOPs and never reads a reply, the way to make a server queue replies
 * without end. Writing stops at {@code maxBytes} or after {@code max}, whichever comes first; a
 * write the server's back-pressure blocks is left blocked until the caller closes the socket.
 *
 * @param written  octets the socket took
 * @param finished whether all of {@code maxBytes} went out (false: the server stopped reading)
 */
public record UnreadPipelining(long written, boolean finished) {

    public static UnreadPipelining flood(Socket s, long maxBytes, Duration max) throws InterruptedException {
        AtomicLong written = new AtomicLong();
        Thread writer = new Thread(() -> {
            byte[] block = "NOOP\r\n".repeat(10_000).getBytes(StandardCharsets.US_ASCII);
            long deadline = System.nanoTime() + max.toNanos();
            try {
                OutputStream out = s.getOutputStream();
                while (written.get() < maxBytes && System.nanoTime() < deadline) {
                    out.write(block);
                    written.addAndGet(block.length);
                }
            } catch (IOException closed) {
                // the caller closed the socket to end a blocked write
            }
        }, "unread-pipelining");
        writer.setDaemon(true);
        writer.start();
        writer.join(max.toMillis() + 2000);
        return new UnreadPipelining(written.get(), !writer.isAlive() && written.get() >= maxBytes);
    }

    /** Heap in use after a few GCs: what is really retained. */
    public static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50); // lets the collection and reference processing settle; nothing observable to wait on
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
