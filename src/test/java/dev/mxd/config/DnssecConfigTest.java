package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Type;

/** {@code dns.dnssec} and {@code dns.trust-anchors}: defaults, the three modes, and errors with file and line. */
class DnssecConfigTest {

    static final Path FILE = Path.of("mxd.yaml");

    static final String KSK = "secure.test. 300 IN DNSKEY 257 3 13 "
            + "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n";

    static String yaml(String dns) {
        return "dns:\n" + dns + "domains:\n  example.test:\n    role: local\n    mailboxes: [alice]\n    aliases: {postmaster: alice}\n";
    }

    @Test
    void autoFromTheRootsAnchorsByDefault() throws Exception {
        MxdConfig c = ConfigLoader.parse(yaml("  servers: [\"127.0.0.1\"]\n"), FILE);
        assertThat(c.dnssec().mode()).isEqualTo(DnssecMode.AUTO);
        assertThat(c.dnssec().anchors()).isEmpty();
    }

    @Test
    void readsTheModesAndTheAnchorFiles(@TempDir Path dir) throws Exception {
        Path anchors = Files.writeString(dir.resolve("anchors"), "; the test zone's key\n" + KSK
                + "secure.test. IN DS 2371 13 2 C988EC423E3880EB8DD8A46C12CF6E8DD2DB12EE49B2DC6A4C1FE6F8ED5C4F13\n");
        MxdConfig c = ConfigLoader.parse(yaml("  dnssec: validate\n  trust-anchors: [\"" + anchors + "\"]\n"), FILE);
        assertThat(c.dnssec().mode()).isEqualTo(DnssecMode.VALIDATE);
        assertThat(c.dnssec().anchors()).extracting(r -> r.getType()).containsExactly(Type.DNSKEY, Type.DS);
        assertThat(ConfigLoader.parse(yaml("  dnssec: off\n"), FILE).dnssec().mode()).isEqualTo(DnssecMode.OFF);
        assertThat(ConfigLoader.parse(yaml("  dnssec: \"off\"\n"), FILE).dnssec().mode()).isEqualTo(DnssecMode.OFF);
        assertThat(ConfigLoader.parse(yaml("  dnssec: auto\n"), FILE).dnssec().mode()).isEqualTo(DnssecMode.AUTO);
    }

    @Test
    void anotherModeIsAnErrorOnItsLine() {
        assertThatThrownBy(() -> ConfigLoader.parse(yaml("  servers: [\"127.0.0.1\"]\n  dnssec: yes-please\n"), FILE))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mxd.yaml:3:").hasMessageContaining("dns.dnssec").hasMessageContaining("auto, validate or off");
    }

    /** on, true and yes are one value to YAML: the message quotes none of them as written (it said 'on' for true). */
    @Test
    void onTrueAndYesAreNoMode() {
        for (String written : java.util.List.of("on", "true", "yes")) {
            assertThatThrownBy(() -> ConfigLoader.parse(yaml("  dnssec: " + written + "\n"), FILE)).as(written)
                    .isInstanceOf(ConfigException.class).hasMessageContaining("mxd.yaml:2:")
                    .hasMessageContaining("a yes, true or on value is not auto, validate or off").hasMessageContaining("validate");
        }
    }

    @Test
    void aMissingAnchorFileIsAnError(@TempDir Path dir) {
        Path missing = dir.resolve("nope.anchors");
        assertThatThrownBy(() -> ConfigLoader.parse(yaml("  trust-anchors: [\"" + missing + "\"]\n"), FILE))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("mxd.yaml:2:").hasMessageContaining(missing.toString());
    }

    @Test
    void anUnparseableAnchorNamesItsFileAndLine(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.anchors"), KSK + "secure.test. IN DS 1 13 2 00\n");
        assertThatThrownBy(() -> ConfigLoader.parse(yaml("  trust-anchors: [\"" + bad + "\"]\n"), FILE))
                .isInstanceOf(ConfigException.class).hasMessageContaining(bad + ":2:");
    }

    /**
     * A Windows editor's byte-order mark before the first owner: read as part of it, the root's anchor became one for a
     * name no answer is under, the root had no anchor left, and every answer was insecure (DANE never applied) with no
     * word. The mark is dropped; a stray octet in an owner is an error with its line, a parse error names the file.
     */
    @Test
    void aByteOrderMarkIsDroppedAndAStrayOctetInAnOwnerIsAnError(@TempDir Path dir) throws Exception {
        Path bom = Files.write(dir.resolve("bom.anchors"), ("\uFEFF" + KSK.replace("\n", "\r\n"))
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        MxdConfig c = ConfigLoader.parse(yaml("  dnssec: validate\n  trust-anchors: [\"" + bom + "\"]\n"), FILE);
        assertThat(c.dnssec().anchors()).singleElement().satisfies(r ->
                assertThat(r.getName()).isEqualTo(org.xbill.DNS.Name.fromConstantString("secure.test.")));

        Path stray = Files.write(dir.resolve("stray.anchors"), ("; a key\n\u00A0" + KSK)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThatThrownBy(() -> ConfigLoader.parse(yaml("  trust-anchors: [\"" + stray + "\"]\n"), FILE))
                .isInstanceOf(ConfigException.class).hasMessageContaining(stray.toString()).hasMessageContaining("line 2")
                .hasMessageContaining("octets no host name has");

        Path badAfterBom = Files.write(dir.resolve("badbom.anchors"), ("\uFEFF" + KSK + "secure.test. IN DS 1 13 2 00\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThatThrownBy(() -> ConfigLoader.parse(yaml("  trust-anchors: [\"" + badAfterBom + "\"]\n"), FILE))
                .isInstanceOf(ConfigException.class).hasMessageContaining(badAfterBom + ":2:").hasMessageNotContaining("<none>");
    }

    @Test
    void aRecordOfAnotherTypeNamesItsFileAndLine(@TempDir Path dir) throws Exception {
        Path other = Files.writeString(dir.resolve("other.anchors"), KSK + "secure.test. IN A 127.0.0.1\n");
        assertThatThrownBy(() -> ConfigLoader.parse(yaml("  trust-anchors: [\"" + other + "\"]\n"), FILE))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(other.toString()).hasMessageContaining("line 2").hasMessageContaining("not a DS or DNSKEY");
    }
}
