package dev.mxd.queue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A spool directory of its own for each test, and the queue manager a test starts on it, closed after the test. */
abstract class QueueManagerTestBase {

    @TempDir
    Path dir;

    QueueManager queue;

    @AfterEach
    void closeQueue() {
        if (queue != null) {
            queue.close();
        }
    }
}
