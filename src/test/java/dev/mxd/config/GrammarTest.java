package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The one duration grammar and the one size grammar take every form any reader took before. */
class GrammarTest {

    @Test
    void durationsInEveryFormerSpelling() {
        for (String s : new String[] {"30s", "30S", "30 s", " 30s "}) {
            assertThat(Durations.read(s, Durations.BareNumber.REFUSED)).contains(Duration.ofSeconds(30));
        }
        assertThat(Durations.read("500ms", Durations.BareNumber.REFUSED)).contains(Duration.ofMillis(500));
        assertThat(Durations.read("2m", Durations.BareNumber.REFUSED)).contains(Duration.ofMinutes(2));
        assertThat(Durations.read("1h", Durations.BareNumber.REFUSED)).contains(Duration.ofHours(1));
        assertThat(Durations.read("5d", Durations.BareNumber.REFUSED)).contains(Duration.ofDays(5));
        assertThat(Durations.read("30", Durations.BareNumber.REFUSED)).isEmpty();
        assertThat(Durations.read("30", Durations.BareNumber.SECONDS)).contains(Duration.ofSeconds(30));
        assertThat(Durations.read("-5s", Durations.BareNumber.SECONDS)).isEmpty();
        assertThat(Durations.read("30 seconds", Durations.BareNumber.SECONDS)).isEmpty();
        assertThatThrownBy(() -> Durations.read("99999999999999999999d", Durations.BareNumber.REFUSED))
                .hasMessage("'99999999999999999999d' is too long a duration");
        assertThatThrownBy(() -> Durations.parse("30")).hasMessage("'30' is not a duration; write it like 500ms, 30s, 5m, 4h or 5d");
    }

    @Test
    void sizesInEveryFormerSpelling() {
        for (String s : new String[] {"25M", "25m", "25MB", "25mb", "25Mb", "25 MB", "26214400", "26214400B", "26214400b", "25MiB", "25mib"}) {
            assertThat(DataSize.read(s)).as(s).contains(new DataSize(26_214_400L));
        }
        assertThat(DataSize.read("512K")).contains(new DataSize(524_288L));
        assertThat(DataSize.read("1G")).contains(new DataSize(1L << 30));
        assertThat(DataSize.read("512KiB")).contains(new DataSize(524_288L)); // the IEC spellings, which say the units are binary
        assertThat(DataSize.read("1GiB")).contains(new DataSize(1L << 30));
        assertThat(DataSize.read("25 megabytes")).isEmpty();
        assertThatThrownBy(() -> DataSize.read("99999999999999999999")).hasMessage("'99999999999999999999' is too large");
        assertThatThrownBy(() -> DataSize.read("9999999999999G")).hasMessage("'9999999999999G' is too large");
    }
}
