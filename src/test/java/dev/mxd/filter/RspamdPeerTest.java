package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.DomainFilter;
import dev.mxd.config.Engine;
import dev.mxd.config.FiltersConfig;
import dev.mxd.config.SpamPolicy;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.Rspamd;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** RspamdClient and the chain's Rspamd paths against the real rspamd (Debian), with GTUBE. */
@PeerTest
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class RspamdPeerTest {

    static Rspamd rspamd;

    @BeforeAll
    static void start() throws Exception {
        rspamd = Rspamd.start();
    }

    @AfterAll
    static void stop() {
        if (rspamd != null) {
            rspamd.close();
        }
    }

    static ScanEnvelope envelope() throws Exception {
        return new ScanEnvelope("Q1", "alice@x.test", List.of("bob@example.test"), Optional.of(InetAddress.getByName("127.0.0.1")),
                Optional.of("mx.x.test"), Optional.empty());
    }

    static FilterChain chain(Duration timeout) {
        return FilterChain.fromConfig(new FiltersConfig(Optional.empty(), Optional.empty(),
                Optional.of(new FiltersConfig.Rspamd(rspamd.url())), timeout, FiltersConfig.OnError.TEMPFAIL,
                FiltersConfig.OnTooLarge.ACCEPT));
    }

    static DomainFilter policy(SpamPolicy spam) {
        return new DomainFilter(List.of(Engine.RSPAMD), DomainFilter.VirusAction.REJECT, Optional.of(spam));
    }

    static SpamPolicy steps(Double tag, Double quarantine, Double reject, boolean byAction) {
        return new SpamPolicy(tag == null ? OptionalDouble.empty() : OptionalDouble.of(tag),
                quarantine == null ? OptionalDouble.empty() : OptionalDouble.of(quarantine),
                reject == null ? OptionalDouble.empty() : OptionalDouble.of(reject), OptionalDouble.empty(), Optional.of("[SPAM] "), byAction);
    }

    @Test
    void gtubeIsRejectActionAndCleanIsNoAction() throws Exception {
        RspamdClient client = new RspamdClient(rspamd.url(), Duration.ofSeconds(10));
        EngineResult.Scored gtube = (EngineResult.Scored) client.scan(TestMessages.gtube(), envelope());
        assertThat(gtube.action()).contains("reject");
        assertThat(gtube.symbols()).contains("GTUBE");
        assertThat(gtube.engineSaysSpam()).isTrue();
        EngineResult.Scored clean = (EngineResult.Scored) client.scan(TestMessages.clean(), envelope());
        assertThat(clean.action()).contains("no action");
        assertThat(clean.score()).isLessThan(clean.threshold());
        assertThat(clean.symbols()).contains("RCPT_COUNT_ONE"); // the Rcpt header arrived
    }

    /**
     * A bounce (null sender) is scanned as one: mxd sends From: <>, which Rspamd takes as the empty envelope sender
     * (no FORGED or mismatched-sender rules on a Return-Path field the message itself carries).
     */
    @Test
    void aBounceIsScannedWithTheNullSender() throws Exception {
        RspamdClient client = new RspamdClient(rspamd.url(), Duration.ofSeconds(10));
        ScanEnvelope bounce = new ScanEnvelope("Q2", "", List.of("b@example.test"), Optional.of(java.net.InetAddress.getByName("127.0.0.1")),
                Optional.of("client.test"), Optional.empty());
        EngineResult r = client.scan(TestMessages.clean(), bounce);
        assertThat(r).isInstanceOf(EngineResult.Scored.class);
        assertThat(((EngineResult.Scored) r).action()).contains("no action");
        assertThat(((EngineResult.Scored) r).symbols()).as("the header's From is not taken for the envelope's")
                .doesNotContain("FROM_EQ_ENVFROM").contains("RCPT_COUNT_ONE");
    }

    @Test
    void gtubeByThresholdsTagQuarantineReject() throws Exception {
        FilterChain chain = chain(Duration.ofSeconds(10));
        // Rspamd scores GTUBE at its reject score (15 with the shipped actions)
        FilterVerdict tagged = chain.filter(TestMessages.gtube(), envelope(), List.of(policy(steps(6.0, null, null, false))));
        assertThat(((FilterVerdict.Accept) tagged).subjectPrefix()).contains("[SPAM] ");
        assertThat(chain.filter(TestMessages.gtube(), envelope(), List.of(policy(steps(6.0, 10.0, null, false)))))
                .isInstanceOf(FilterVerdict.Quarantine.class);
        assertThat(chain.filter(TestMessages.gtube(), envelope(), List.of(policy(steps(6.0, 10.0, 15.0, false)))))
                .isInstanceOf(FilterVerdict.Reject.class);
        assertThat(chain.filter(TestMessages.clean(), envelope(), List.of(policy(steps(6.0, 10.0, 15.0, false)))))
                .isInstanceOf(FilterVerdict.Accept.class);
    }

    @Test
    void rspamdActionDecidesWhenConfigured() throws Exception {
        FilterChain chain = chain(Duration.ofSeconds(10));
        SpamPolicy byAction = steps(null, null, null, true);
        FilterVerdict r = chain.filter(TestMessages.gtube(), envelope(), List.of(policy(byAction)));
        assertThat(((FilterVerdict.Reject) r).reply().toWire()).isEqualTo("550 5.7.1 Message refused as spam");
        FilterVerdict clean = chain.filter(TestMessages.clean(), envelope(), List.of(policy(byAction)));
        assertThat(((FilterVerdict.Accept) clean).taggedAsSpam()).isFalse();
    }

    @Test
    void stalledRspamdTimesOut() throws Exception {
        FilterChain chain = chain(Duration.ofSeconds(1));
        rspamd.pause();
        try {
            FilterVerdict v = chain.filter(TestMessages.clean(), envelope(), List.of(policy(steps(6.0, null, null, false))));
            assertThat(v).isInstanceOf(FilterVerdict.TempFail.class);
            assertThat(((EngineResult.Unavailable) v.results().get(0)).reason()).isEqualTo(EngineResult.Reason.TIMEOUT);
        } finally {
            rspamd.resume();
        }
    }
}
