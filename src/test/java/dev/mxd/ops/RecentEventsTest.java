package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.DeliveryEvent;
import dev.mxd.queue.Destination;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The status page's and mxd queue hosts' "up" hosts: those that took mail lately, and only those. */
class RecentEventsTest {

    private static DeliveryEvent event(String relay, DeliveryEvent.Outcome outcome, String dsn) {
        Instant now = Instant.now();
        return new DeliveryEvent("MXID000001", "user@far.test", new Destination.Domain("far.test"), relay, outcome, dsn,
                "what the host said", now.minusSeconds(432_000), now);
    }

    /**
     * A message that expired after its MX answered 4xx for five days is bounced with that host as its
     * last relay: the host was listed as up, "last accepted" at the expiry. A 5xx names a host that
     * refused the message too.
     */
    @Test
    void onlyAHostThatTookTheMessageIsUp() {
        RecentEvents recent = new RecentEvents(10);
        recent.add(event("mx1.far.test[192.0.2.1]:25", DeliveryEvent.Outcome.BOUNCED, "4.4.7"));
        recent.add(event("mx2.far.test[192.0.2.2]:25", DeliveryEvent.Outcome.BOUNCED, "5.1.1"));
        recent.add(event("mx3.far.test[192.0.2.3]:25", DeliveryEvent.Outcome.DEFERRED, "4.2.0"));
        assertThat(recent.hostsSeen()).isEmpty();
        recent.add(event("mx4.far.test[192.0.2.4]:25", DeliveryEvent.Outcome.SENT, "2.0.0"));
        assertThat(recent.hostsSeen()).singleElement().satisfies(h -> assertThat(h.toString()).contains("mx4.far.test"));
        assertThat(recent.newestFirst()).hasSize(4);
    }
}
