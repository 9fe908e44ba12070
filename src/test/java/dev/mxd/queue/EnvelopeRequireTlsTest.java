package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.mail.ClientInfo;
import dev.mxd.smtp.MailParameters;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** REQUIRETLS (RFC 8689) in the spooled envelope: written when set, and envelopes written before it read without it. */
class EnvelopeRequireTlsTest {

    private static Envelope envelope(boolean requireTls) {
        ClientInfo client = new ClientInfo(new InetSocketAddress("127.0.0.1", 0), "localhost", true, true);
        return new Envelope("MWXID0000R", Optional.empty(), MailParameters.NONE.withRequireTls(requireTls), List.of(), client,
                Instant.parse("2026-12-03T08:00:00Z"), 42);
    }

    @Test
    void theFlagIsWrittenAndReadBack() throws IOException {
        Envelope e = envelope(true);
        assertThat(new String(EnvelopeJson.write(e), StandardCharsets.UTF_8)).contains("\"requiretls\" : true");
        assertThat(EnvelopeJson.read(EnvelopeJson.write(e))).isEqualTo(e);
    }

    @Test
    void withoutTheFlagTheKeyIsAbsentAndAnOlderEnvelopeReadsWithoutIt() throws IOException {
        assertThat(new String(EnvelopeJson.write(envelope(false)), StandardCharsets.UTF_8)).doesNotContain("requiretls");
        String before = "{\"version\":1,\"id\":\"MWXID0000S\",\"sender\":\"\",\"arrival\":\"2026-12-01T08:00:00Z\",\"size\":10,"
                + "\"body\":\"7BIT\",\"smtputf8\":false,\"client\":{\"address\":\"127.0.0.1\",\"port\":0,\"helo\":\"localhost\","
                + "\"esmtp\":true,\"tls\":false},\"recipients\":[]}";
        assertThat(EnvelopeJson.read(before.getBytes(StandardCharsets.UTF_8)).parameters().requireTls()).isFalse();
    }
}
