package dev.mxd.smtp.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.MessageStore.StoreOutcome;
import dev.mxd.mail.ReceivedMessage;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Received field mxd adds names the client by its HELO: a UTF-8 name there must not make an
 * all-ASCII SMTPUTF8 message need SMTPUTF8 at the next hop (which would fail it 5.6.7 for every
 * recipient at a server without the extension), nor send 8-bit header octets to such a server.
 */
class AsciiReceivedTest {

    @TempDir
    Path dir;

    /** Spools a two-recipient SMTPUTF8 message from a client that said {@code helo}; returns it as the client envelope. */
    private OutboundEnvelope spooled(Spool spool, String helo) throws Exception {
        MailParameters utf8 = new MailParameters(OptionalLong.empty(), MailParameters.Body.SEVEN_BIT, true, Optional.empty(), Optional.empty());
        var r1 = new Recipient(Mailbox.parse("a@far.test"), RcptParameters.NONE, new Route.Relay("far.test"));
        var r2 = new Recipient(Mailbox.parse("b@far.test"), RcptParameters.NONE, new Route.Relay("far.test"));
        ReceivedMessage m = new ReceivedMessage(Optional.of(Mailbox.parse("s@client.test")), utf8, List.of(r1, r2),
                new ClientInfo(new InetSocketAddress("192.0.2.1", 40000), helo, true, false), Instant.now(),
                "From: s@client.test\r\nSubject: plain ascii\r\n\r\nhi\r\n".getBytes(StandardCharsets.US_ASCII));
        String id = ((StoreOutcome.Stored) spool.store(m)).queueId();
        long size = spool.envelope(QueueState.INCOMING, id).size();
        return new OutboundEnvelope("s@client.test", List.of(OutboundRecipient.of("a@far.test"), OutboundRecipient.of("b@far.test")), false, true,
                Optional.empty(), Optional.empty(), MessageContent.of(spool.text(id), size));
    }

    private static String text(OutboundEnvelope e) throws Exception {
        try (var in = e.content().open()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aUtf8HeloNameGoesInTheReceivedFieldAsALabelsAndTheMessageStillGoesWithoutSmtputf8() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        OutboundEnvelope e = spooled(spool, "b\u00fccher.example");
        assertThat(AsciiTransaction.of(e)).isInstanceOfSatisfying(AsciiTransaction.Downgraded.class, d -> {
            assertThat(d.sent()).containsExactly(0, 1);
            assertThat(d.left()).isEmpty();
        });
        assertThat(text(e)).startsWith("Received: from xn--bcher-kva.example ([192.0.2.1])\r\n\tby mx.test (mxd) with UTF8SMTP id ");
    }

    @Test
    void aHeloNameWithNoALabelFormOrWithControlCharactersIsWrittenWithQuestionMarks() throws Exception {
        Spool spool = Spool.open(dir, "mx.test", Clock.systemUTC());
        // Not valid IDNA (a label over 63 octets once encoded), then ASCII with a control character in it.
        OutboundEnvelope bad = spooled(spool, "\u00fc".repeat(70) + ".example");
        assertThat(AsciiTransaction.of(bad)).isInstanceOf(AsciiTransaction.Downgraded.class);
        assertThat(text(bad)).startsWith("Received: from " + "?".repeat(70) + ".example ([192.0.2.1])\r\n");
        OutboundEnvelope control = spooled(spool, "host\u0000\u001b.example");
        assertThat(text(control)).startsWith("Received: from host??.example ([192.0.2.1])\r\n");
    }
}
