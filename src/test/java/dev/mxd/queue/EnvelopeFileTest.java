package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.smtp.Mailbox;
import dev.mxd.mail.ClientInfo;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvelopeFileTest {

    @TempDir
    Path dir;

    private static Envelope envelope(long size) {
        ClientInfo client = new ClientInfo(new InetSocketAddress("127.0.0.1", 2525), "client.test", true, false);
        return new Envelope("MWXID0000A", Optional.of(Mailbox.parse("a@b.test")), dev.mxd.smtp.MailParameters.NONE, List.of(),
                client, Instant.parse("2026-11-26T08:00:00Z"), size);
    }

    @Test
    void readsTheEnvelopeAfterTheText() throws IOException {
        byte[] text = "Subject: looks like a footer\r\n\r\n\n#mxd-envelope 0000000002\n".getBytes(StandardCharsets.US_ASCII);
        Envelope e = envelope(text.length);
        Path f = dir.resolve("ID");
        Files.write(f, concat(text, EnvelopeFile.trailer(EnvelopeJson.write(e))));
        assertThat(EnvelopeFile.read(f)).isEqualTo(e);
    }

    @Test
    void readsAPlainEnvelopeFile() throws IOException {
        Envelope e = envelope(10);
        Path f = dir.resolve("ID.json");
        Files.write(f, EnvelopeJson.write(e));
        assertThat(EnvelopeFile.read(f)).isEqualTo(e);
    }

    /**
     * A message to 100,000 recipients (max-recipients set so high): its plain envelope, rewritten after the first
     * attempt with a reply for each, is over 16 MB, which was read as "not an envelope file" at every attempt after,
     * the recipients never delivered nor bounced.
     */
    @Test
    void aPlainEnvelopeOfAHundredThousandRecipientsIsReadBack() throws IOException {
        ClientInfo client = new ClientInfo(new InetSocketAddress("127.0.0.1", 2525), "client.test", true, false);
        Instant at = Instant.parse("2026-11-26T08:00:00Z");
        List<RecipientStatus> rs = new java.util.ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            dev.mxd.mail.Recipient r = new dev.mxd.mail.Recipient(Mailbox.parse("recipient" + i + "@far" + (i % 50) + ".test"),
                    dev.mxd.smtp.RcptParameters.NONE, new dev.mxd.mail.Route.Relay("far" + (i % 50) + ".test"));
            rs.add(new RecipientStatus(r, DeliveryState.DEFERRED, "mx.far.test[192.0.2.1] said: 451 4.7.1 greylisted, try later", at));
        }
        Envelope e = new Envelope("MWXID0000B", Optional.of(Mailbox.parse("a@b.test")), dev.mxd.smtp.MailParameters.NONE, rs,
                client, at, 10);
        Path f = dir.resolve("ID.json");
        Files.write(f, EnvelopeJson.write(e));
        assertThat(Files.size(f)).isGreaterThan(16L * 1024 * 1024);
        assertThat(EnvelopeFile.read(f).recipients()).hasSize(100_000);
    }

    @Test
    void aFooterLongerThanItsFileIsAnError() throws IOException {
        Path f = dir.resolve("ID");
        Files.writeString(f, "{}\n#mxd-envelope 0000009999\n");
        assertThatThrownBy(() -> EnvelopeFile.read(f)).isInstanceOf(IOException.class).hasMessageContaining("9999");
    }

    @Test
    void aTextWithoutEnvelopeIsNotReadAsOne() throws IOException {
        Path f = dir.resolve("ID");
        Files.writeString(f, "Subject: no envelope here\r\n\r\nbody\r\n");
        assertThatThrownBy(() -> EnvelopeFile.read(f)).isInstanceOf(IOException.class).hasMessageContaining("no JSON object");
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
