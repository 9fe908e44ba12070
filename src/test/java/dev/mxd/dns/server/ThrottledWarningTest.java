package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class ThrottledWarningTest {

    @Test
    void oneLinePerIntervalSayingHowManyWereLeftOut() {
        Logger logger = (Logger) LoggerFactory.getLogger("dev.mxd.dns.server.ThrottledWarningTest");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        AtomicLong now = new AtomicLong();
        ThrottledWarning w = new ThrottledWarning(logger, Duration.ofSeconds(10), now::get);
        for (int i = 0; i < 1_000; i++) {
            int n = i;
            w.warn(() -> "bad packet " + n);
        }
        assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage).containsExactly("bad packet 0");
        assertThat(w.suppressed()).isEqualTo(999);
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        w.warn(() -> "bad packet again");
        assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage).containsExactly("bad packet 0",
                "bad packet again (999 more like it in the last 10 s not logged)");
        logger.detachAppender(lines);
    }

    @Test
    void packetTextIsMadePrintable() {
        assertThat(ThrottledWarning.printable("ev\u0000il\u001b[2J\u0007.test\n")).isEqualTo("ev?il?[2J?.test?");
        assertThat(ThrottledWarning.printable("x".repeat(500))).hasSize(200);
    }
}
