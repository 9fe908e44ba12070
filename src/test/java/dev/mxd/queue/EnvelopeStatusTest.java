package dev.mxd.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.smtp.EnhancedStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A recipient's status code is typed in memory and the same text on disk: envelopes already spooled read unchanged. */
class EnvelopeStatusTest {

    /** An envelope as mxd wrote it before the status was typed. */
    private static final String SPOOLED = """
            {
              "version" : 1,
              "id" : "MWXID0000B",
              "sender" : "a@x.test",
              "arrival" : "2026-12-03T08:00:00Z",
              "size" : 42,
              "body" : "7BIT",
              "smtputf8" : false,
              "client" : {
                "address" : "127.0.0.1",
                "port" : 2525,
                "helo" : "client.test",
                "esmtp" : true,
                "tls" : false
              },
              "recipients" : [ {
                "address" : "bob@dest.test",
                "notify" : [ ],
                "route" : "relay",
                "domain" : "dest.test",
                "state" : "deferred",
                "detail" : "mx1.dest.test[192.0.2.7]:25 refused RCPT TO:<bob@dest.test>: 450 4.2.1 busy",
                "updated" : "2026-12-03T08:01:00Z",
                "status" : "4.2.1",
                "remote-mta" : "mx1.dest.test[192.0.2.7]:25"
              }, {
                "address" : "carol@dest.test",
                "notify" : [ ],
                "route" : "relay",
                "domain" : "dest.test",
                "state" : "pending",
                "detail" : "",
                "updated" : "2026-12-03T08:00:00Z"
              } ]
            }""";

    @Test
    void aSpooledStatusReadsTypedAndIsWrittenBackTheSame() throws IOException {
        Envelope e = EnvelopeJson.read(SPOOLED.getBytes(StandardCharsets.UTF_8));
        assertThat(e.recipients().get(0).status()).contains(new EnhancedStatus(4, 2, 1));
        assertThat(e.recipients().get(0).remoteMta()).contains("mx1.dest.test[192.0.2.7]:25");
        assertThat(e.recipients().get(0).reply()).as("the reply serves one attempt's notices, it is not spooled").isEmpty();
        assertThat(e.recipients().get(1).status()).isEmpty();
        assertThat(new String(EnvelopeJson.write(e), StandardCharsets.UTF_8).replace("\r\n", "\n")).isEqualTo(SPOOLED);
    }

    @Test
    void aStatusThatIsNoCodeReadsAsNone() throws IOException {
        Envelope e = EnvelopeJson.read(SPOOLED.replace("\"4.2.1\"", "\"busy\"").getBytes(StandardCharsets.UTF_8));
        assertThat(e.recipients().get(0).status()).isEmpty();
        assertThat(e.recipients().get(0).state()).isEqualTo(DeliveryState.DEFERRED);
    }
}
