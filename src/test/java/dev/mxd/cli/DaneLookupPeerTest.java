package dev.mxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.testing.DaneZone;
import dev.mxd.testing.PeerTest;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code mxd lookup --json} lists each secure MX host's TLSA records (RFC 7672) against real Knot ({@link DaneZone}). */
@PeerTest
class DaneLookupPeerTest {

    private static DaneZone zone;
    private static String dns;

    @BeforeAll
    static void start() throws Exception {
        zone = DaneZone.start();
        dns = "127.0.0.1:" + zone.knot().port();
    }

    @AfterAll
    static void stop() {
        if (zone != null) {
            zone.close();
        }
    }

    private static JsonNode host(String domain, String dnssec) throws Exception {
        LookupCommandTest.Run run = LookupCommandTest.run("lookup", domain, "--dns", dns, "--dnssec", dnssec,
                "--trust-anchor", zone.anchor().toString(), "--json");
        assertThat(run.exit()).as(run.err()).isZero();
        return LookupCommandTest.json(run).get("hosts").get(0);
    }

    @Test
    void aSecureHostShowsItsTlsaRecordsAndTheirStatus() throws Exception {
        JsonNode h = host("ee.dane.test", "validate");
        assertThat(h.get("name").asText()).isEqualTo("mx-ee.dane.test");
        assertThat(h.get("dnssec").asText()).isEqualTo("secure");
        assertThat(h.get("tlsa")).hasSize(1);
        assertThat(h.get("tlsa").get(0).asText().toLowerCase(Locale.ROOT)).isEqualTo(zone.eeRecord());
        assertThat(h.get("tlsa_dnssec").asText()).isEqualTo("secure");
        assertThat(h.get("tlsa_error").isNull()).isTrue();
    }

    /**
     * A secure MX host that is an alias: the TLSA records delivery uses are the expanded name's (RFC 7672 §2.2.2), and
     * the lookup lists those, not the empty set at the alias's own name (it showed "tlsa": [] while delivery and
     * mxd check authenticated by DANE).
     */
    @Test
    void aSecureAliasShowsTheRecordsAtItsExpandedNameAsDeliveryUsesThem() throws Exception {
        JsonNode h = host("alias0.dane.test", "validate");
        assertThat(h.get("name").asText()).isEqualTo("mx-alias0.dane.test");
        assertThat(h.get("tlsa")).hasSize(1);
        assertThat(h.get("tlsa").get(0).asText().toLowerCase(Locale.ROOT)).isEqualTo(zone.eeRecord());
        assertThat(h.get("tlsa_dnssec").asText()).isEqualTo("secure");
    }

    @Test
    void aHostWithoutRecordsHasAnEmptyListAndASecureDenial() throws Exception {
        JsonNode h = host("none.dane.test", "validate");
        assertThat(h.get("tlsa")).isEmpty();
        assertThat(h.get("tlsa_dnssec").asText()).isEqualTo("secure");
    }

    @Test
    void withoutValidationDaneDoesNotApplyAndNothingIsLookedUp() throws Exception {
        JsonNode h = host("ee.dane.test", "off");
        assertThat(h.get("dnssec").asText()).isEqualTo("insecure");
        assertThat(h.get("tlsa")).isEmpty();
        assertThat(h.get("tlsa_dnssec").isNull()).isTrue();
    }
}
