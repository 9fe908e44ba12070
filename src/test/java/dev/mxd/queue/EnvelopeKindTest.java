package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.smtp.MailParameters;
import dev.mxd.mail.ClientInfo;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The kind of a spooled message (mail, or a notice mxd made) survives the envelope on disk; older envelopes are mail. */
class EnvelopeKindTest {

    private static Envelope envelope(Envelope.Kind kind) {
        ClientInfo client = new ClientInfo(new InetSocketAddress("127.0.0.1", 0), "localhost", true, false);
        return new Envelope("MWXID0000B", Optional.empty(), MailParameters.NONE, List.of(), client,
                Instant.parse("2026-12-03T08:00:00Z"), 42, kind);
    }

    @ParameterizedTest
    @EnumSource(Envelope.Kind.class)
    void kindIsWrittenAndReadBack(Envelope.Kind kind) throws IOException {
        Envelope e = envelope(kind);
        assertThat(EnvelopeJson.read(EnvelopeJson.write(e))).isEqualTo(e);
        assertThat(EnvelopeJson.read(EnvelopeJson.write(e.withRecipients(List.of()))).kind()).isEqualTo(kind);
    }

    @Test
    void mailHasNoNoticeKeySoOlderVersionsReadItUnchanged() throws IOException {
        String json = new String(EnvelopeJson.write(envelope(Envelope.Kind.MAIL)), StandardCharsets.UTF_8);
        assertThat(json).doesNotContain("notice");
    }

    @Test
    void anEnvelopeWrittenBeforeKindsIsMail() throws IOException {
        String before = "{\"version\":1,\"id\":\"MWXID0000C\",\"sender\":\"\",\"arrival\":\"2026-12-01T08:00:00Z\",\"size\":10,"
                + "\"body\":\"7BIT\",\"smtputf8\":false,\"client\":{\"address\":\"127.0.0.1\",\"port\":0,\"helo\":\"localhost\","
                + "\"esmtp\":true,\"tls\":false},\"recipients\":[]}";
        assertThat(EnvelopeJson.read(before.getBytes(StandardCharsets.UTF_8)).kind()).isEqualTo(Envelope.Kind.MAIL);
    }

    @Test
    void anUnknownKindIsAnError() throws IOException {
        String json = new String(EnvelopeJson.write(envelope(Envelope.Kind.SENDER_NOTICE)), StandardCharsets.UTF_8);
        assertThat(json).contains("\"notice\" : \"sender\"");
        byte[] odd = json.replace("\"notice\" : \"sender\"", "\"notice\" : \"sideways\"").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> EnvelopeJson.read(odd)).isInstanceOf(IOException.class).hasMessageContaining("sideways");
    }
}
