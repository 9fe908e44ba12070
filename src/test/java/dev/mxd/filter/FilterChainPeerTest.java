package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.DomainFilter;
import dev.mxd.config.Engine;
import dev.mxd.config.EngineAddress;
import dev.mxd.config.FiltersConfig;
import dev.mxd.config.SpamPolicy;
import dev.mxd.testing.Clamd;
import dev.mxd.testing.PeerProcess;
import dev.mxd.testing.PeerTest;
import dev.mxd.testing.Spamd;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every verdict path of the filter chain with the real clamd and spamd: clean, EICAR (reject,
 * quarantine, discard), GTUBE (tag, quarantine, reject by threshold), an engine that is down
 * (tempfail or accept marked skipped) and one that stalls (timeout).
 */
@PeerTest
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FilterChainPeerTest {

    static Clamd clamd;
    static Spamd spamd;

    @TempDir
    Path dataDir;

    @BeforeAll
    static void start() throws Exception {
        clamd = Clamd.start("25M");
        spamd = Spamd.start();
    }

    @AfterAll
    static void stop() {
        PeerProcess.closeAll(spamd, clamd);
    }

    static FiltersConfig config(FiltersConfig.OnError onError, Duration timeout, EngineAddress clamdAddress) {
        return new FiltersConfig(Optional.of(new FiltersConfig.Clamd(clamdAddress, ClamdClient.DEFAULT_STREAM_MAX_LENGTH)),
                Optional.of(new FiltersConfig.Spamd(spamd.address(), "mxd")), Optional.empty(), timeout, onError,
                FiltersConfig.OnTooLarge.ACCEPT);
    }

    static FilterChain chain(FiltersConfig.OnError onError) {
        return FilterChain.fromConfig(config(onError, Duration.ofSeconds(30), clamd.address()));
    }

    static DomainFilter policy(DomainFilter.VirusAction virus, SpamPolicy spam) {
        return new DomainFilter(List.of(Engine.CLAMD, Engine.SPAMD), virus, Optional.of(spam));
    }

    static SpamPolicy steps(Double tag, Double quarantine, Double reject) {
        return new SpamPolicy(opt(tag), opt(quarantine), opt(reject), OptionalDouble.empty(),
                tag == null ? Optional.empty() : Optional.of("[SPAM] "), false);
    }

    static OptionalDouble opt(Double d) {
        return d == null ? OptionalDouble.empty() : OptionalDouble.of(d);
    }

    static final SpamPolicy ISSUE_STEPS = steps(5.0, 10.0, 15.0);

    FilterVerdict filter(FilterChain chain, MessageSource message, DomainFilter policy) {
        return chain.filter(message, TestMessages.ENVELOPE, List.of(policy));
    }

    @Test
    void cleanMessageIsAcceptedWithSpamHeadersSaysNo() throws Exception {
        FilterVerdict v = filter(chain(FiltersConfig.OnError.TEMPFAIL), TestMessages.clean(), policy(DomainFilter.VirusAction.REJECT, ISSUE_STEPS));
        assertThat(v).isInstanceOf(FilterVerdict.Accept.class);
        FilterVerdict.Accept a = (FilterVerdict.Accept) v;
        assertThat(a.taggedAsSpam()).isFalse();
        assertThat(a.headers().get(0).value()).startsWith("No, score=");
        assertThat(a.results().get(0)).isEqualTo(new EngineResult.Clean(Engine.CLAMD));
        assertThat(((EngineResult.Scored) a.results().get(1)).score()).isLessThan(5.0);
    }

    @Test
    void eicarIsRejectedQuarantinedOrDiscardedPerPolicy() throws Exception {
        FilterChain chain = chain(FiltersConfig.OnError.TEMPFAIL);
        FilterVerdict rejected = filter(chain, TestMessages.eicar(), policy(DomainFilter.VirusAction.REJECT, ISSUE_STEPS));
        assertThat(((FilterVerdict.Reject) rejected).reply().toWire())
                .isEqualTo("554 5.7.1 Message refused: virus Local.EICAR.UNOFFICIAL found");
        FilterVerdict discarded = filter(chain, TestMessages.eicar(), policy(DomainFilter.VirusAction.DISCARD, ISSUE_STEPS));
        assertThat(discarded).isInstanceOf(FilterVerdict.Discard.class);

        FilterVerdict held = filter(chain, TestMessages.eicar(), policy(DomainFilter.VirusAction.QUARANTINE, ISSUE_STEPS));
        FilterVerdict.Quarantine q = (FilterVerdict.Quarantine) held;
        assertThat(q.reason()).isEqualTo("virus Local.EICAR.UNOFFICIAL (clamd)");
        // what the server does with a Quarantine verdict before its 250: store, then an operator releases
        Quarantine store = new Quarantine(dataDir);
        QuarantineEntry e = store.store(TestMessages.eicar(), TestMessages.ENVELOPE, q.reason(), q.results(), Instant.now());
        assertThat(store.list(0, 10).entries()).containsExactly(e);
        Quarantine.Released r = store.release(e.id()).orElseThrow();
        assertThat(r.entry().recipients()).containsExactly("bob@example.test");
        assertThat(new ClamdClient(clamd.address(), Duration.ofSeconds(10), 1 << 20).scan(MessageSource.of(r.messageFile()),
                TestMessages.ENVELOPE)).isInstanceOf(EngineResult.Infected.class); // the very message, intact
    }

    @Test
    void gtubeIsTaggedQuarantinedOrRejectedByThreshold() throws Exception {
        FilterChain chain = chain(FiltersConfig.OnError.TEMPFAIL);
        FilterVerdict tagged = filter(chain, TestMessages.gtube(), policy(DomainFilter.VirusAction.REJECT, steps(5.0, null, null)));
        FilterVerdict.Accept a = (FilterVerdict.Accept) tagged;
        assertThat(a.taggedAsSpam()).isTrue();
        assertThat(a.subjectPrefix()).contains("[SPAM] ");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = TestMessages.gtube().open()) {
            MessageTagger.apply(a, in, out);
        }
        String taggedText = out.toString(StandardCharsets.US_ASCII);
        assertThat(taggedText).startsWith("X-Spam-Status: Yes, score=").contains("\r\nSubject: [SPAM] Test spam\r\n");

        FilterVerdict q = filter(chain, TestMessages.gtube(), policy(DomainFilter.VirusAction.REJECT, steps(5.0, 10.0, null)));
        assertThat(q).isInstanceOf(FilterVerdict.Quarantine.class);
        assertThat(((FilterVerdict.Quarantine) q).reason()).startsWith("spam score 100");

        FilterVerdict r = filter(chain, TestMessages.gtube(), policy(DomainFilter.VirusAction.REJECT, ISSUE_STEPS));
        assertThat(((FilterVerdict.Reject) r).reply().toWire()).isEqualTo("550 5.7.1 Message refused as spam");
        EngineResult.Scored s = (EngineResult.Scored) r.results().get(1);
        assertThat(s.symbols()).contains("GTUBE");
        assertThat(s.score()).isGreaterThan(999);
    }

    @Test
    void clamdDownIsTempFailOrAcceptSkipped() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        EngineAddress nowhere = new EngineAddress.Tcp("127.0.0.1", closed);
        FilterVerdict t = filter(FilterChain.fromConfig(config(FiltersConfig.OnError.TEMPFAIL, Duration.ofSeconds(5), nowhere)),
                TestMessages.clean(), policy(DomainFilter.VirusAction.REJECT, ISSUE_STEPS));
        assertThat(((FilterVerdict.TempFail) t).reply().toWire()).isEqualTo("451 4.7.1 Message not scanned (clamd unavailable); try again later");
        FilterVerdict a = filter(FilterChain.fromConfig(config(FiltersConfig.OnError.ACCEPT, Duration.ofSeconds(5), nowhere)),
                TestMessages.clean(), policy(DomainFilter.VirusAction.REJECT, ISSUE_STEPS));
        assertThat(((FilterVerdict.Accept) a).headers()).extracting(Object::toString).contains("X-Mxd-Scan: skipped", "X-Mxd-Scan-Skipped: clamd refused");
    }

    @Test
    void stalledSpamdTimesOutIntoTempFail() throws Exception {
        FilterChain chain = FilterChain.fromConfig(config(FiltersConfig.OnError.TEMPFAIL, Duration.ofSeconds(2), clamd.address()));
        spamd.pause();
        try {
            long start = System.nanoTime();
            FilterVerdict v = filter(chain, TestMessages.clean(), policy(DomainFilter.VirusAction.REJECT, ISSUE_STEPS));
            assertThat(v).isInstanceOf(FilterVerdict.TempFail.class);
            EngineResult.Unavailable u = (EngineResult.Unavailable) v.results().get(1);
            assertThat(u.reason()).isEqualTo(EngineResult.Reason.TIMEOUT);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        } finally {
            spamd.resume();
        }
        // back: the retried message goes through (a chain with the class's usual timeout: spamd's child first reads the
        // request left in its backlog while it was stopped, and a scan and a fork may take more than 2 s on a loaded machine)
        assertThat(filter(chain(FiltersConfig.OnError.TEMPFAIL), TestMessages.clean(), policy(DomainFilter.VirusAction.REJECT, ISSUE_STEPS)))
                .isInstanceOf(FilterVerdict.Accept.class);
    }
}
