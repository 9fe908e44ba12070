package dev.mxd.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.dns.MailDomain;
import java.net.IDN;
import org.junit.jupiter.api.Test;

/**
 * Domains to A-labels as IDNA2008 / UTS #46 non-transitional give them: the deviation characters
 * (ß, ς, the joiners) are kept and encoded, where java.net.IDN (IDNA2003) turned faß.de into
 * fass.de, another domain, whose MX and TLS policy mxd then used.
 */
class IdnaTest {

    @Test
    void deviationCharactersAreKeptAndEncoded() {
        assertThat(Idna.toAscii("faß.de")).isEqualTo("xn--fa-hia.de");
        assertThat(Idna.toAscii("FAß.DE")).isEqualTo("xn--fa-hia.de");
        assertThat(MailDomain.parse("faß.de").ascii()).isEqualTo("xn--fa-hia.de");
        assertThat(new Mailbox("user", "faß.de").domainKey()).isEqualTo("xn--fa-hia.de");
        assertThat(Mailbox.asciiDomain("faß.de")).contains("xn--fa-hia.de");
        // Greek: a final sigma written as such stays (Python's punycode codec gives the same); a capital sigma maps to σ.
        assertThat(Idna.toAscii("τελος.gr")).isEqualTo("xn--qxammmg.gr");
        assertThat(Idna.toAscii("ΤΕΛΟΣς.gr")).isEqualTo(Idna.toAscii("τελοσς.gr"));
        assertThat(IDN.toASCII("faß.de")).as("what java.net.IDN says").isEqualTo("fass.de");
    }

    /**
     * A final ideographic or full-width full stop is the root's empty label, as a final '.' is: dropped. Kept, the
     * recipient bob@example.test\u3002 of a local domain was filed under "example.test." and missed every table keyed
     * without the dot (its route relayed away at the first attempt).
     */
    @Test
    void aFinalFullStopOfAnyKindIsTheRootsAndIsDropped() {
        for (String stop : new String[] {"\u3002", "\uFF0E", "\uFF61"}) {
            assertThat(Idna.toAscii("例え.テスト" + stop)).as(stop).isEqualTo("xn--r8jz45g.xn--zckzah");
            assertThat(new Mailbox("bob", "example.test" + stop).domainKey()).as(stop).isEqualTo("example.test");
        }
        assertThatThrownBy(() -> Idna.toAscii("例え\u3002\u3002")).hasMessageContaining("empty label");
    }

    @Test
    void otherLabelsAreAsJavaNetIdnMakesThem() {
        assertThat(Idna.toAscii("Bücher.Example")).isEqualTo("xn--bcher-kva.example");
        assertThat(Idna.toAscii("mx1.EXAMPLE.org")).isEqualTo("mx1.example.org");
        assertThat(Idna.toAscii("例え.テスト")).isEqualTo(IDN.toASCII("例え.テスト").toLowerCase(java.util.Locale.ROOT));
        assertThat(Idna.toAscii("bücher\u3002example")).as("an ideographic full stop separates labels").isEqualTo("xn--bcher-kva.example");
        assertThatThrownBy(() -> Idna.toAscii("a".repeat(64) + ".test")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Idna.toAscii(".example.com")).as("as java.net.IDN: an empty label").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Idna.toAscii("mx..example.com")).isInstanceOf(IllegalArgumentException.class);
        // STD3: a label that maps to a space or a symbol has no A-label form (it was "example.test " for U+3000)
        assertThatThrownBy(() -> Idna.toAscii("example.test\u3000")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Idna.toAscii("ex\u00A0ample.test")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Idna.toAscii("a\uFF0Fb.test")).as("a fullwidth solidus maps to '/'").isInstanceOf(IllegalArgumentException.class);
        assertThat(Idna.toAscii("example.com.")).isEqualTo("example.com.");
    }

    /** RFC 3492 §7.1 sample strings, encoded by the same routine the deviation labels use. */
    @Test
    void punycodeMatchesTheRfcSamples() {
        // (A) Arabic (Egyptian)
        assertThat(Idna.punycode("\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F"))
                .isEqualTo("egbpdaj6bu4bxfgehfvwxn");
        // (B) Chinese (simplified)
        assertThat(Idna.punycode("\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587")).isEqualTo("ihqwcrb4cv8a8dqg056pqjye");
        // (L) 3<nen>B<gumi><kinpachi><sensei>: basic code points first
        assertThat(Idna.punycode("3\u5E74B\u7D44\u91D1\u516B\u5148\u751F")).isEqualTo("3B-ww4c5e180e575a65lsy2b");
        assertThat(Idna.punycode("bücher")).isEqualTo("bcher-kva");
    }
}
