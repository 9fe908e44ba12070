package dev.mxd.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.Envelope;
import dev.mxd.queue.QueueState;
import dev.mxd.queue.RecipientStatus;
import dev.mxd.mail.Route;
import dev.mxd.testing.RawSmtp;
import dev.mxd.testing.TestMx;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The open-relay probe set (issue 6 point 5) from an untrusted client ({@code trusted-networks: []},
 * so loopback counts as the Internet). Each probe is one transaction; whatever mxd accepts must be
 * for its own domains (example.test local, example.org backup), never for other.test or an address
 * literal, and the queue must hold nothing for another destination. No probe connects anywhere:
 * the only check is the RCPT reply and the spool.
 */
class OpenRelayProbeTest {

    private static TestMx mx;

    @BeforeAll
    static void start() throws Exception {
        mx = TestMx.start("trusted-networks: []\n");
        mx.mx().queue().onDelivery(event -> {
            if (event.transport().equals("local")) {
                localDeliveries.put(event.queueId(), event.recipient());
            }
        });
    }

    @AfterAll
    static void stop() {
        mx.close();
    }

    /** Probes that name another domain in some disguise: the RCPT must be refused. */
    @ParameterizedTest(name = "RCPT TO:{0} is refused")
    @ValueSource(strings = {
        "<user@other.test>",
        "<user@OTHER.TEST>",
        "<user@Other.Test.>",
        "<user@other.test.>",
        "<user%other.test@example.test>",       // percent hack
        "<user%other.test@[127.0.0.1]>",
        "<alice%other.test@example.test>",
        "<@example.test:user@other.test>",      // source route through us
        "<@example.test,@relay.test:user@other.test>",
        "<other.test!user@example.test>",       // bang path
        "<other.test!user>",
        "<\"user@other.test\"@example.test>",   // quoted local part
        "<\"user%other.test\"@example.test>",
        "<\"user@other.test\">",
        "<user@[192.0.2.1]>",                   // IP literal
        "<user@[IPv6:2001:db8::1]>",
        "<user@[127.0.0.1]>",
        "<postmaster@[192.0.2.1]>",
        "<user@other.test@example.test>",
        "<user@example.test@other.test>",
        "<user@example.test.other.test>",
        "<user@other.test%example.test>",
        "<user@xn--exmple-cua.test>",
        "<user@example.test\u3002other.test>",
        "user@other.test",
        "<user@other.test> NOTIFY=NEVER",
        "<alice@example.test> <user@other.test>",
    })
    void disguisedRelayIsRefused(String rcpt) throws Exception {
        String reply = rcpt(rcpt);
        assertThat(reply).as("RCPT TO:%s", rcpt).matches("^[45]\\d\\d[ -].*");
    }

    /** Forms the parser now takes (a final dot, no angle brackets) are refused by the relay policy itself, not by syntax. */
    @ParameterizedTest(name = "RCPT TO:{0} is relay access denied")
    @ValueSource(strings = {"<user@other.test.>", "<user@Other.Test.>", "user@other.test", "user@other.test."})
    void lenientFormsMeetTheRelayPolicy(String rcpt) throws Exception {
        assertThat(rcpt(rcpt)).as("RCPT TO:%s", rcpt).startsWith("554 5.7.1").contains("Relay access denied");
    }

    /** Probes that really are for mxd's own domains, in odd spellings: accepted, and kept for those domains only. */
    @ParameterizedTest(name = "RCPT TO:{0} is for our own domain")
    @ValueSource(strings = {"<ALICE@EXAMPLE.TEST>", "<alice@Example.Test>", "<@other.test:user@example.org>",
        "<alice@Example.Test.>", "<bob@example.org.>"})
    void ownDomainsInOddSpellingsStayOwnDomains(String rcpt) throws Exception {
        String id = accepted(rcpt);
        // Where mxd filed it: delivered to a local mailbox of example.test, or queued for the backup
        // domain example.org; never a route to another domain.
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> routeDomain(id).isPresent() || localDeliveries.containsKey(id));
        String expected = rcpt.toLowerCase(java.util.Locale.ROOT).matches(".*@example\\.test\\.?>") ? "example.test" : "example.org";
        java.util.Optional<String> queuedFor = routeDomain(id);
        String filed = queuedFor.orElseGet(() -> localDeliveries.get(id).toLowerCase(java.util.Locale.ROOT)
                .substring(localDeliveries.get(id).indexOf('@') + 1));
        assertThat(filed).as("where mxd filed RCPT TO:%s", rcpt).isEqualTo(expected);
    }

    /**
     * A backup domain's recipient whose local part routes on (percent hack, bang path, quoted @), from an untrusted
     * client: refused, as Postfix's allow_untrusted_routing = no; the primary might honour it and relay anywhere.
     */
    @ParameterizedTest(name = "RCPT TO:{0} is refused at a backup domain")
    @ValueSource(strings = {"<user%other.test@example.org>", "<other.test!user@example.org>", "<\"user@other.test\"@example.org>",
        "<\"user%other.test\"@EXAMPLE.ORG.>"})
    void senderRoutedRecipientsOfABackupDomainAreRefused(String rcpt) throws Exception {
        assertThat(rcpt(rcpt)).as("RCPT TO:%s", rcpt).startsWith("554 5.7.1").contains("Relay access denied");
    }

    /** Local deliveries by queue id: the recipient address mxd delivered. */
    private static final java.util.Map<String, String> localDeliveries = new java.util.concurrent.ConcurrentHashMap<>();

    /** A whole transaction to one recipient, which must be accepted; returns its queue id. */
    private static String accepted(String rcpt) throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO probe.other.test\r\nMAIL FROM:<probe@other.test>\r\nRCPT TO:" + rcpt + "\r\n");
            assertThat(c.code()).as("EHLO").isEqualTo(250);
            assertThat(c.code()).as("MAIL").isEqualTo(250);
            assertThat(c.reply()).as("RCPT TO:%s", rcpt).startsWith("250");
            c.send("DATA\r\n");
            assertThat(c.code()).isEqualTo(354);
            c.send("Subject: odd spelling\r\n\r\nprobe " + rcpt + "\r\n.\r\n");
            String reply = c.reply();
            assertThat(reply).startsWith("250 ");
            return reply.substring(reply.lastIndexOf(' ') + 1).strip();
        }
    }

    /** The route domain of a queued message's only recipient, while it is in the spool. */
    private static java.util.Optional<String> routeDomain(String id) throws Exception {
        return queued(id).map(e -> {
            Route route = e.recipients().get(0).recipient().route();
            return route instanceof Route.Local l ? l.domain() : ((Route.Relay) route).domain();
        });
    }

    /**
     * A message's envelope in whichever queue state holds it. The queue manager moves files between
     * states while this looks (a backup domain's message goes active, deferred, active again), so a
     * walk that found it nowhere is tried twice more before the message counts as gone.
     */
    private static java.util.Optional<Envelope> queued(String id) throws Exception {
        for (int walk = 0; walk < 3; walk++) {
            for (QueueState q : QueueState.values()) {
                try {
                    return java.util.Optional.of(mx.mx().spool().envelope(q, id));
                } catch (java.nio.file.NoSuchFileException notInThisState) {
                    // try the next state
                }
            }
        }
        return java.util.Optional.empty();
    }

    @Test
    void afterEveryProbeTheQueueHoldsNothingForAnotherDomain() throws Exception {
        // Run every probe once more with DATA, so that anything accepted is really queued.
        List<String> all = new ArrayList<>(List.of("<user%other.test@example.test>", "<@example.test:user@other.test>",
                "<other.test!user@example.test>", "<\"user@other.test\"@example.test>", "<user@[192.0.2.1]>",
                "<user@other.test.>", "<user@OTHER.TEST>", "<user%other.test@example.org>", "<\"user@other.test\"@example.org>",
                "<@other.test:user@example.org>", "<other.test!user@example.org>"));
        int accepted = 0;
        for (String rcpt : all) {
            if (transaction(rcpt)) {
                accepted++;
            }
        }
        // Ids from two walks over the states, as a message may move into a state already listed.
        Set<String> ids = new java.util.TreeSet<>();
        for (int walk = 0; walk < 2; walk++) {
            for (QueueState q : QueueState.values()) {
                ids.addAll(mx.mx().spool().ids(q));
            }
        }
        List<String> domains = new ArrayList<>();
        for (String id : ids) {
            for (RecipientStatus r : queued(id).map(Envelope::recipients).orElse(List.of())) {
                domains.add(r.recipient().address().domainKey());
                Route route = r.recipient().route();
                domains.add(route instanceof Route.Local l ? l.domain() : ((Route.Relay) route).domain());
            }
        }
        System.out.printf("open-relay probes: %d transactions, %d accepted for own domains, queued recipient domains %s%n",
                all.size(), accepted, domains);
        assertThat(domains).allMatch(d -> Set.of("example.test", "example.org").contains(d));
    }

    private static String rcpt(String rcpt) throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            assertThat(c.code()).isEqualTo(220);
            c.send("EHLO probe.other.test\r\nMAIL FROM:<probe@other.test>\r\nRCPT TO:" + rcpt + "\r\n");
            assertThat(c.code()).isEqualTo(250);
            assertThat(c.code()).isEqualTo(250);
            return c.reply();
        }
    }

    /** A whole transaction to one recipient; true when the message was accepted. */
    private static boolean transaction(String rcpt) throws Exception {
        try (RawSmtp c = new RawSmtp(mx.smtp())) {
            c.reply();
            c.send("EHLO probe.other.test\r\nMAIL FROM:<probe@other.test>\r\nRCPT TO:" + rcpt + "\r\n");
            c.reply();
            c.reply();
            if (c.code() != 250) {
                return false;
            }
            c.send("DATA\r\n");
            if (c.code() != 354) {
                return false;
            }
            c.send("Subject: relay probe\r\n\r\nprobe " + rcpt + "\r\n.\r\n");
            return c.reply().startsWith("250 ");
        }
    }
}
