package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.Route;
import dev.mxd.smtp.DsnNotify;
import dev.mxd.smtp.DsnReturn;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MailParameters;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The envelope's JSON streams both ways; what it reads does not depend on the order or the company of its fields. */
class EnvelopeJsonTest {

    private static Envelope full() {
        MailParameters p = new MailParameters(OptionalLong.empty(), MailParameters.Body.EIGHT_BIT_MIME, true,
                Optional.of(DsnReturn.HDRS), Optional.of("env\"id\\1"), true);
        ClientInfo client = new ClientInfo(new InetSocketAddress("::1", 40001), "cl\u00e9.test", true, true);
        RecipientStatus local = new RecipientStatus(
                new Recipient(Mailbox.parse("bob@local.test"), new RcptParameters(EnumSet.of(DsnNotify.DELAY, DsnNotify.FAILURE),
                        Optional.of("rfc822;bob@old.test")), new Route.Local("local.test", List.of("bob", "postmaster"))),
                DeliveryState.DELIVERED, "", Instant.parse("2026-12-05T04:16:00.000001Z"));
        RecipientStatus relay = new RecipientStatus(
                new Recipient(Mailbox.parse("carol@far.test"), RcptParameters.NONE, new Route.Relay("far.test")),
                DeliveryState.DEFERRED, "mx.far.test[192.0.2.1]:25 said: 451 4.3.0 \"later\"\n",
                Instant.parse("2026-12-05T04:16:01.123456789Z"), Optional.of(new EnhancedStatus(4, 3, 0)),
                Optional.of("mx.far.test[192.0.2.1]:25"));
        return new Envelope("MXID0001F", Optional.empty(), p, List.of(local, relay), client,
                Instant.parse("2026-12-05T04:16:00Z"), 12345, Envelope.Kind.SENDER_NOTICE);
    }

    @Test
    void everyFieldComesBackAsItWent() throws IOException {
        Envelope e = full();
        assertThat(EnvelopeJson.read(EnvelopeJson.write(e))).isEqualTo(e);
    }

    /**
     * Every field, as the writer before the streaming one (a Jackson node tree) wrote this envelope:
     * files already spooled and files written now are the same bytes.
     */
    @Test
    void theBytesAreThoseTheTreeWriterWrote() throws IOException {
        byte[] before;
        try (var in = EnvelopeJsonTest.class.getResourceAsStream("envelope-every-field.json")) {
            before = in.readAllBytes();
        }
        assertThat(new String(EnvelopeJson.write(full()), StandardCharsets.UTF_8).replace("\r\n", "\n"))
                .isEqualTo(new String(before, StandardCharsets.UTF_8));
        assertThat(EnvelopeJson.read(before)).isEqualTo(full());
    }

    @Test
    void fieldsInAnotherOrderWithUnknownOnesAndNullsReadTheSame() throws IOException {
        String json = """
                {"recipients": [{"updated": "2026-12-05T04:16:00Z", "state": "pending", "future": {"a": [1, {"b": null}]},
                                 "domain": "far.test", "route": "relay", "address": "carol@far.test", "orcpt": null,
                                 "notify": ["SUCCESS"], "notify": ["FAILURE"], "status": null}],
                 "client": {"tls": false, "esmtp": true, "extra": [1, 2], "helo": "c.test", "port": 2525, "address": "127.0.0.1"},
                 "size": 7, "arrival": "2026-12-05T04:16:00.5Z", "envid": null, "ret": "FULL", "unknown": {"x": 1},
                 "sender": "a@b.test", "id": "MXID0002A", "version": 1}
                """;
        Envelope e = EnvelopeJson.read(json.getBytes(StandardCharsets.UTF_8));
        assertThat(e.id()).isEqualTo("MXID0002A");
        assertThat(e.sender()).contains(Mailbox.parse("a@b.test"));
        assertThat(e.arrival()).isEqualTo(Instant.parse("2026-12-05T04:16:00.5Z"));
        assertThat(e.size()).isEqualTo(7);
        assertThat(e.parameters().ret()).contains(DsnReturn.FULL);
        assertThat(e.parameters().envid()).isEmpty();
        assertThat(e.parameters().requireTls()).isFalse();
        assertThat(e.kind()).isEqualTo(Envelope.Kind.MAIL);
        assertThat(e.client().remote()).isEqualTo(new InetSocketAddress("127.0.0.1", 2525));
        assertThat(e.client().helo()).isEqualTo("c.test");
        assertThat(e.client().esmtp()).isTrue();
        assertThat(e.recipients()).hasSize(1);
        RecipientStatus r = e.recipients().get(0);
        assertThat(r.recipient().address()).isEqualTo(Mailbox.parse("carol@far.test"));
        assertThat(r.recipient().route()).isEqualTo(new Route.Relay("far.test"));
        assertThat(r.recipient().dsn().notifyOn()).containsExactly(DsnNotify.FAILURE);
        assertThat(r.recipient().dsn().orcpt()).isEmpty();
        assertThat(r.state()).isEqualTo(DeliveryState.PENDING);
        assertThat(r.status()).isEmpty();
    }

    @Test
    void aListOrObjectWhereANumberOrFlagBelongsIsPassedOverAndEveryRecipientStillRead() throws IOException {
        String json = """
                {"version": 1, "size": {"octets": 42, "recipients": []}, "smtputf8": [true], "arrival": "2026-12-05T04:16:00Z",
                 "client": {"address": "127.0.0.1", "port": [25, {"x": 1}], "esmtp": {"a": true}, "helo": "c.test"},
                 "recipients": [{"address": "a@far.test", "route": "relay", "domain": "far.test", "state": "pending",
                                 "updated": "2026-12-05T04:16:00Z"},
                                {"address": "b@far.test", "route": "relay", "domain": "far.test", "state": "deferred",
                                 "updated": "2026-12-05T04:16:00Z"}]}
                """;
        Envelope e = EnvelopeJson.read(json.getBytes(StandardCharsets.UTF_8));
        assertThat(e.size()).isZero();
        assertThat(e.parameters().smtputf8()).isFalse();
        assertThat(e.client().remote().getPort()).isZero();
        assertThat(e.client().esmtp()).isFalse();
        assertThat(e.client().helo()).isEqualTo("c.test");
        assertThat(e.recipients()).extracting(r -> r.recipient().address().toString()).containsExactly("a@far.test", "b@far.test");
    }

    @Test
    void aRecipientThatIsNoObjectOrANullSenderFieldMakesTheEnvelopeMalformedNotShorter() {
        String head = "{\"version\": 1, \"arrival\": \"2026-12-05T04:16:00Z\", \"client\": {\"address\": \"127.0.0.1\"}, ";
        String one = "{\"address\": \"a@far.test\", \"route\": \"relay\", \"domain\": \"far.test\", \"state\": \"pending\", "
                + "\"updated\": \"2026-12-05T04:16:00Z\"}";
        for (String bad : new String[] {"null", "\"b@far.test\"", "[]"}) {
            String json = head + "\"recipients\": [" + one + ", " + bad + "]}";
            assertThatThrownBy(() -> EnvelopeJson.read(json.getBytes(StandardCharsets.UTF_8))).as(bad)
                    .isInstanceOf(IOException.class).hasMessageContaining("recipient 2 is not an object");
        }
        String nullSender = head + "\"sender\": null, \"recipients\": [" + one + "]}";
        assertThatThrownBy(() -> EnvelopeJson.read(nullSender.getBytes(StandardCharsets.UTF_8)))
                .as("a null sender is not the empty sender <>: no notice would go back").isInstanceOf(IOException.class);
    }

    @Test
    void anotherVersionIsRefusedWhereverItStands() {
        String json = "{\"recipients\": [{\"state\": \"no such state\"}], \"version\": 2}";
        assertThatThrownBy(() -> EnvelopeJson.read(json.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class).hasMessageContaining("version 2 is not 1");
    }

    @Test
    void brokenJsonAndBadFieldsAreErrorsThatSaySo() {
        assertThatThrownBy(() -> EnvelopeJson.read("{\"version\": 1, \"id\": ".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class).hasMessageContaining("malformed envelope");
        assertThatThrownBy(() -> EnvelopeJson.read("[1]".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class).hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> EnvelopeJson.read(new byte[0])).isInstanceOf(IOException.class);
        String badTime = "{\"version\": 1, \"arrival\": \"2026-13-05T04:16:00Z\", \"client\": {\"address\": \"127.0.0.1\"}}";
        assertThatThrownBy(() -> EnvelopeJson.read(badTime.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class).hasMessageContaining("malformed envelope").hasMessageContaining("2026-13-05");
        String badNotice = "{\"version\": 1, \"arrival\": \"2026-12-05T04:16:00Z\", \"notice\": \"other\", \"client\": {\"address\": \"127.0.0.1\"}}";
        assertThatThrownBy(() -> EnvelopeJson.read(badNotice.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class).hasMessageContaining("notice is 'other'");
    }
}
