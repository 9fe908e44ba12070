package dev.mxd.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StsRecordTest {

    @Test
    void exactlyOneStsv1RecordGivesItsId() {
        assertThat(StsRecord.of("d.test", List.of("v=STSv1; id=20160831085700Z;"))).isEqualTo(new StsRecord.Present("20160831085700Z"));
        assertThat(StsRecord.of("d.test", List.of("v=spf1 -all", "v=STSv1;id=abc; ext=1"))).isEqualTo(new StsRecord.Present("abc"));
    }

    @Test
    void noneOrSeveralOrAnInvalidOneMeanNoPolicy() {
        assertThat(StsRecord.of("d.test", List.of())).isInstanceOf(StsRecord.Absent.class);
        assertThat(StsRecord.of("d.test", List.of("v=STSv1; id=1", "v=STSv1; id=2"))).isInstanceOf(StsRecord.Absent.class);
        assertThat(StsRecord.of("d.test", List.of("v=STSv1;"))).isInstanceOf(StsRecord.Absent.class);
        assertThat(StsRecord.of("d.test", List.of("v=STSv1; id=not-alnum"))).isInstanceOf(StsRecord.Absent.class);
        assertThat(StsRecord.of("d.test", List.of("v=STSv1; id=" + "a".repeat(33)))).isInstanceOf(StsRecord.Absent.class);
        assertThat(StsRecord.of("d.test", List.of("v=STSv10; id=1"))).isInstanceOf(StsRecord.Absent.class);
    }

    /** RFC 8461 §3.1: a record not beginning "v=STSv1;" is discarded before exactly one is asked for; a bare v=STSv1 counted as a second one and turned the policy off. */
    @Test
    void aBareVersionWithoutTheSemicolonIsDiscardedNotCounted() {
        assertThat(StsRecord.of("d.test", List.of("v=STSv1", "v=STSv1; id=abc"))).isEqualTo(new StsRecord.Present("abc"));
        assertThat(StsRecord.of("d.test", List.of("v=STSv1"))).isInstanceOf(StsRecord.Absent.class);
    }

    @Test
    void spacesBeforeTheSemicolonAreAllowed() {
        // RFC 8461 §3.1 ABNF: *WSP around ';' (review finding 8)
        assertThat(StsRecord.of("a.test", List.of("v=STSv1 ; id=abc"))).isEqualTo(new StsRecord.Present("abc"));
        assertThat(StsRecord.of("a.test", List.of("v=STSv1\t;id=abc;"))).isEqualTo(new StsRecord.Present("abc"));
        assertThat(StsRecord.of("a.test", List.of("v=STSv10; id=abc"))).isInstanceOf(StsRecord.Absent.class);
    }
}
