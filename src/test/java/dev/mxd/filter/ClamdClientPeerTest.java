package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import dev.mxd.testing.Clamd;
import dev.mxd.testing.PeerTest;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** ClamdClient against the real clamd (Debian clamav-daemon) with a test-written EICAR signature. */
@PeerTest
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClamdClientPeerTest {

    static Clamd clamd;

    @BeforeAll
    static void start() throws Exception {
        clamd = Clamd.start("1M");
    }

    @AfterAll
    static void stop() {
        if (clamd != null) {
            clamd.close();
        }
    }

    static ClamdClient client(EngineAddress address, long cap) {
        return new ClamdClient(address, Duration.ofSeconds(10), cap);
    }

    @Test
    void cleanMessageIsClean() {
        assertThat(client(clamd.address(), 10_000_000).scan(TestMessages.clean(), TestMessages.ENVELOPE))
                .isEqualTo(new EngineResult.Clean(Engine.CLAMD));
    }

    @Test
    void eicarIsFoundOverTcpAndTheUnixSocket() {
        EngineResult expected = new EngineResult.Infected(Engine.CLAMD, Clamd.VIRUS_NAME);
        assertThat(client(clamd.address(), 10_000_000).scan(TestMessages.eicar(), TestMessages.ENVELOPE)).isEqualTo(expected);
        assertThat(client(clamd.unixSocket(), 10_000_000).scan(TestMessages.eicar(), TestMessages.ENVELOPE)).isEqualTo(expected);
    }

    @Test
    void overClamdsStreamMaxLengthIsTooLarge() {
        byte[] big = new byte[3 * 1024 * 1024]; // clamd here takes 1M
        Arrays.fill(big, (byte) 'a');
        EngineResult r = client(clamd.address(), 10_000_000).scan(MessageSource.of(big), TestMessages.ENVELOPE);
        assertThat(r).isInstanceOf(EngineResult.TooLarge.class);
        assertThat(((EngineResult.TooLarge) r).detail()).contains("clamd's StreamMaxLength");
    }

    @Test
    void pingAnswersPong() {
        assertThat(client(clamd.address(), 10).ping()).isEmpty();
        assertThat(client(clamd.unixSocket(), 10).ping()).isEmpty();
    }
}
