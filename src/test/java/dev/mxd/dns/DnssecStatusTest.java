package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Combining statuses: data resting on several answers is only as secure as the weakest of them. */
class DnssecStatusTest {

    @Test
    void bogusBeatsInsecureBeatsSecure() {
        assertThat(DnssecStatus.SECURE.and(DnssecStatus.SECURE)).isEqualTo(DnssecStatus.SECURE);
        assertThat(DnssecStatus.SECURE.and(DnssecStatus.INSECURE)).isEqualTo(DnssecStatus.INSECURE);
        assertThat(DnssecStatus.INSECURE.and(DnssecStatus.SECURE)).isEqualTo(DnssecStatus.INSECURE);
        assertThat(DnssecStatus.INSECURE.and(DnssecStatus.BOGUS)).isEqualTo(DnssecStatus.BOGUS);
        assertThat(DnssecStatus.BOGUS.and(DnssecStatus.SECURE)).isEqualTo(DnssecStatus.BOGUS);
    }

    @Test
    void printedAsTheJsonWords() {
        assertThat(DnssecStatus.SECURE.text()).isEqualTo("secure");
        assertThat(DnssecStatus.INSECURE.text()).isEqualTo("insecure");
        assertThat(DnssecStatus.BOGUS.text()).isEqualTo("bogus");
    }
}
