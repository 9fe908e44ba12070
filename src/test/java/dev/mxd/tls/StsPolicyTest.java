package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class StsPolicyTest {

    @Test
    void readsTheRfcExampleWithCrlfOrLfAndIgnoresUnknownKeys() throws Exception {
        StsPolicy p = StsPolicy.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                + "mx: backupmx.example.com\r\nmax_age: 604800\r\nfuture_key: whatever\r\n");
        assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE);
        assertThat(p.mx()).containsExactly("mail.example.com", "*.example.net", "backupmx.example.com");
        assertThat(p.maxAge()).isEqualTo(604800);
        assertThat(StsPolicy.parse("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 86400\n").mode()).isEqualTo(StsPolicy.Mode.TESTING);
        assertThat(StsPolicy.parse("version: STSv1\nmode: none\nmax_age: 86400").mx()).isEmpty();
    }

    @Test
    void aWildcardStandsForExactlyOneLabel() throws Exception {
        StsPolicy p = StsPolicy.parse("version: STSv1\nmode: enforce\nmx: *.example.net\nmx: Mail.Example.COM.\nmax_age: 1\n");
        assertThat(p.matches("mx1.example.net")).isTrue();
        assertThat(p.matches("MX1.EXAMPLE.NET.")).isTrue();
        assertThat(p.matches("a.b.example.net")).isFalse();
        assertThat(p.matches("example.net")).isFalse();
        assertThat(p.matches("mail.example.com")).isTrue();
        assertThat(p.matches("other.example.com")).isFalse();
    }

    @Test
    void errorsSayWhatAndWhere() {
        assertThatThrownBy(() -> StsPolicy.parse("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n"))
                .hasMessageContaining("line 1").hasMessageContaining("STSv2");
        assertThatThrownBy(() -> StsPolicy.parse("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n"))
                .hasMessageContaining("line 2").hasMessageContaining("strict");
        assertThatThrownBy(() -> StsPolicy.parse("version: STSv1\nmode: enforce\nmax_age: 86400\n")).hasMessageContaining("mx");
        assertThatThrownBy(() -> StsPolicy.parse("mode: enforce\nmx: a.test\nmax_age: 1\n")).hasMessageContaining("version");
        assertThatThrownBy(() -> StsPolicy.parse("version: STSv1\nmode: enforce\nmx: a.test\n")).hasMessageContaining("max_age");
        assertThatThrownBy(() -> StsPolicy.parse("version: STSv1\nmode enforce\n")).hasMessageContaining("line 2");
        assertThatThrownBy(() -> StsPolicy.parse("version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n")).hasMessageContaining("line 3");
    }

    @Test
    void isReportedAsStsWithItsLinesAndPatterns() throws Exception {
        HostTls.ReportedPolicy r = StsPolicy.parse("version: STSv1\r\nmode: enforce\r\nmx: a.test\r\nmax_age: 60\r\n").reported();
        assertThat(r.type()).isEqualTo("sts");
        assertThat(r.strings()).containsExactly("version: STSv1", "mode: enforce", "mx: a.test", "max_age: 60");
        assertThat(r.mxHosts()).isEqualTo(List.of("a.test"));
    }

    @Test
    void aTooLargeMaxAgeIsCappedAndRepeatsThatAgreeAreAccepted() throws Exception {
        // review finding 8: each of these was "no policy", i.e. opportunistic delivery
        assertThat(StsPolicy.parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 99999999\n").maxAge())
                .isEqualTo(StsPolicy.MAX_AGE_LIMIT);
        assertThat(StsPolicy.parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n").maxAge()).isEqualTo(31557600);
        StsPolicy twice = StsPolicy.parse("version: STSv1\nversion: STSv1\nmode: enforce\nmode: enforce\nmx: a.test\n"
                + "max_age: 600\nmax_age: 600\n");
        assertThat(twice.mode()).isEqualTo(StsPolicy.Mode.ENFORCE);
        assertThat(twice.maxAge()).isEqualTo(600);
    }

    /**
     * RFC 8461 §3.2: of a repeated field other than mx only the first counts, whatever the others
     * say, and an extension field's name may hold a dot. Each of these was refused, which left an
     * enforce policy's domain with opportunistic TLS.
     */
    @Test
    void theFirstOfARepeatedFieldCountsAndExtensionNamesMayHoldDots() throws Exception {
        StsPolicy p = StsPolicy.parse("version: STSv1\nmode: enforce\nmode: testing\nmode: strict\nmx: a.test\n"
                + "max_age: 600\nmax_age: 60\nmax_age: soon\nversion: STSv2\nfoo.bar: x\nx-1_2.3: y\n");
        assertThat(p.mode()).isEqualTo(StsPolicy.Mode.ENFORCE);
        assertThat(p.maxAge()).isEqualTo(600);
        assertThatThrownBy(() -> StsPolicy.parse("version: STSv1\nmode: strict\nmode: enforce\nmx: a.test\nmax_age: 1\n"))
                .as("the first one decides: it is not a mode").hasMessageContaining("line 2");
    }
}
