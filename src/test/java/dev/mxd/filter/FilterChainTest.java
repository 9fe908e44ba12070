package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.config.DomainFilter;
import dev.mxd.config.Engine;
import dev.mxd.config.FiltersConfig;
import dev.mxd.config.SpamPolicy;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/** Policy decisions on engine results from stand-in engines: every verdict path, and several domains. */
class FilterChainTest {

    static final MessageSource MESSAGE = MessageSource.of("Subject: hi\r\n\r\nhello\r\n".getBytes());
    static final ScanEnvelope ENVELOPE = ScanEnvelope.of("Q1", "a@x.test", List.of("b@example.test"));
    static final SpamPolicy STEPS = new SpamPolicy(OptionalDouble.of(5), OptionalDouble.of(10), OptionalDouble.of(15),
            OptionalDouble.empty(), Optional.of("[SPAM] "), false);

    static final EngineResult CLEAN = new EngineResult.Clean(Engine.CLAMD);
    static final EngineResult EICAR = new EngineResult.Infected(Engine.CLAMD, "Local.EICAR.UNOFFICIAL");
    static final EngineResult DOWN = new EngineResult.Unavailable(Engine.CLAMD, EngineResult.Reason.REFUSED, "nothing listens");

    static EngineResult spamd(double score) {
        return new EngineResult.Scored(Engine.SPAMD, score, 5.0, score >= 5, List.of("X"), Optional.empty());
    }

    static FiltersConfig config(FiltersConfig.OnError onError) {
        return new FiltersConfig(Optional.empty(), Optional.empty(), Optional.empty(), FiltersConfig.DEFAULT_TIMEOUT, onError,
                FiltersConfig.OnTooLarge.ACCEPT);
    }

    /** Engines that answer as told and record that they ran. */
    static final class Stand implements ScanEngine {
        final Engine engine;
        final EngineResult result;
        final List<Engine> ran;

        Stand(EngineResult result, List<Engine> ran) {
            this.engine = result.engine();
            this.result = result;
            this.ran = ran;
        }

        @Override
        public Engine engine() {
            return engine;
        }

        @Override

        public Optional<EngineResult.Unavailable> ping() {

            return Optional.empty();

        }


        @Override
        public EngineResult scan(MessageSource message, ScanEnvelope envelope) {
            ran.add(engine);
            return result;
        }
    }

    static FilterVerdict run(FiltersConfig.OnError onError, List<DomainFilter> policies, List<Engine> ran, EngineResult... results) {
        Map<Engine, ScanEngine> engines = new EnumMap<>(Engine.class);
        for (EngineResult r : results) {
            engines.put(r.engine(), new Stand(r, ran));
        }
        return new FilterChain(config(onError), engines).filter(MESSAGE, ENVELOPE, policies);
    }

    static FilterVerdict run(DomainFilter policy, EngineResult... results) {
        return run(FiltersConfig.OnError.TEMPFAIL, List.of(policy), new ArrayList<>(), results);
    }

    static DomainFilter both(DomainFilter.VirusAction virus) {
        return new DomainFilter(List.of(Engine.CLAMD, Engine.SPAMD), virus, Optional.of(STEPS));
    }

    /**
     * A score's summary (the filter's log line, the quarantine's entry) writes its digits as the C locale does, not
     * as the system's (a German one wrote 12,5), and names the rules that hit, so that an operator sees why.
     */
    @Test
    void aScoresSummaryNamesItsRulesInTheCLocalesDigits() {
        java.util.Locale before = java.util.Locale.getDefault();
        java.util.Locale.setDefault(java.util.Locale.GERMANY);
        try {
            EngineResult.Scored s = new EngineResult.Scored(Engine.SPAMD, 12.5, 5.0, true, List.of("GTUBE", "MISSING_DATE"), Optional.empty());
            assertThat(s.summary()).isEqualTo("spamd: score 12.5 / 5.0 [GTUBE MISSING_DATE]");
            List<String> many = new ArrayList<>();
            for (int i = 0; i < 25; i++) {
                many.add("R" + i);
            }
            assertThat(new EngineResult.Scored(Engine.RSPAMD, 1, 15, false, many, Optional.of("no action")).summary())
                    .startsWith("rspamd: score 1.0 / 15.0, action no action [R0 R1 ").endsWith(" R19 +5 more]");
        } finally {
            java.util.Locale.setDefault(before);
        }
    }

    @Test
    void cleanAndLowScoreIsAcceptWithSpamHeaders() {
        FilterVerdict v = run(both(DomainFilter.VirusAction.REJECT), CLEAN, spamd(1.2));
        assertThat(v).isInstanceOf(FilterVerdict.Accept.class);
        FilterVerdict.Accept a = (FilterVerdict.Accept) v;
        assertThat(a.headers()).extracting(Object::toString)
                .containsExactly("X-Spam-Status: No, score=1.2 required=5.0 engines=spamd", "X-Spam-Score: 1.2");
        assertThat(a.subjectPrefix()).isEmpty();
    }

    /**
     * A policy without a tag step (only reject at 15): a score of 7, over the engine's own 5 and under the policy's 15, is
     * "No" and says required=15.0, the score the policy's first step needs. It said required=5.0 (the engine's), so a
     * reader's filter comparing score and required took for spam what the word beside them called no spam.
     */
    @Test
    void requiredIsThePoliciesFirstStepSoTheWordAndTheNumbersAgree() {
        DomainFilter rejectOnly = new DomainFilter(List.of(Engine.SPAMD), DomainFilter.VirusAction.REJECT, Optional.of(
                new SpamPolicy(OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.of(15), OptionalDouble.empty(),
                        Optional.empty(), false)));
        FilterVerdict v = run(rejectOnly, spamd(7));
        assertThat(((FilterVerdict.Accept) v).headers()).extracting(Object::toString)
                .containsExactly("X-Spam-Status: No, score=7.0 required=15.0 engines=spamd", "X-Spam-Score: 7.0");
        assertThat(run(rejectOnly, spamd(16))).isInstanceOf(FilterVerdict.Reject.class);
        // with a tag step, that step: quarantine at 10 and tag at 5 give required=5.0 (as before)
        assertThat(((FilterVerdict.Accept) run(both(DomainFilter.VirusAction.REJECT), CLEAN, spamd(7))).headers())
                .extracting(Object::toString).startsWith("X-Spam-Status: Yes, score=7.0 required=5.0 engines=spamd");
    }

    @Test
    void virusIsRejectedWith554AndTheName() {
        FilterVerdict v = run(both(DomainFilter.VirusAction.REJECT), EICAR, spamd(0));
        assertThat(v).isInstanceOf(FilterVerdict.Reject.class);
        assertThat(((FilterVerdict.Reject) v).reply().toWire()).isEqualTo("554 5.7.1 Message refused: virus Local.EICAR.UNOFFICIAL found");
    }

    @Test
    void virusQuarantinedOrDiscardedPerPolicyAndSpamdSkipped() {
        List<Engine> ran = new ArrayList<>();
        FilterVerdict q = run(FiltersConfig.OnError.TEMPFAIL, List.of(both(DomainFilter.VirusAction.QUARANTINE)), ran, EICAR, spamd(0));
        assertThat(q).isEqualTo(new FilterVerdict.Quarantine("virus Local.EICAR.UNOFFICIAL (clamd)", List.of(EICAR)));
        assertThat(ran).containsExactly(Engine.CLAMD);
        assertThat(run(both(DomainFilter.VirusAction.DISCARD), EICAR, spamd(0))).isInstanceOf(FilterVerdict.Discard.class);
    }

    @Test
    void spamStepsTagQuarantineReject() {
        FilterVerdict.Accept tagged = (FilterVerdict.Accept) run(both(DomainFilter.VirusAction.REJECT), CLEAN, spamd(7));
        assertThat(tagged.subjectPrefix()).contains("[SPAM] ");
        assertThat(tagged.taggedAsSpam()).isTrue();
        assertThat(run(both(DomainFilter.VirusAction.REJECT), CLEAN, spamd(12))).isEqualTo(
                new FilterVerdict.Quarantine("spam score 12.0", List.of(CLEAN, spamd(12))));
        FilterVerdict r = run(both(DomainFilter.VirusAction.REJECT), CLEAN, spamd(1003.7));
        assertThat(((FilterVerdict.Reject) r).reply().toWire()).isEqualTo("550 5.7.1 Message refused as spam");
    }

    @Test
    void engineDownIsTempFailOrAcceptMarkedSkipped() {
        FilterVerdict t = run(both(DomainFilter.VirusAction.REJECT), DOWN, spamd(0));
        assertThat(((FilterVerdict.TempFail) t).reply().toWire()).isEqualTo("451 4.7.1 Message not scanned (clamd unavailable); try again later");
        FilterVerdict a = run(FiltersConfig.OnError.ACCEPT, List.of(both(DomainFilter.VirusAction.REJECT)), new ArrayList<>(), DOWN, spamd(0));
        assertThat(((FilterVerdict.Accept) a).headers()).extracting(Object::toString).contains("X-Mxd-Scan: skipped", "X-Mxd-Scan-Skipped: clamd refused");
    }

    @Test
    void definiteRejectBeatsAnEngineThatIsDown() {
        FilterVerdict v = run(FiltersConfig.OnError.TEMPFAIL, List.of(both(DomainFilter.VirusAction.REJECT)), new ArrayList<>(),
                DOWN, spamd(1003.7));
        assertThat(v).isInstanceOf(FilterVerdict.Reject.class);
    }

    @Test
    void severalDomainsTakeTheStrictestVerdict() {
        DomainFilter tagOnly = new DomainFilter(List.of(Engine.SPAMD), DomainFilter.VirusAction.REJECT, Optional.of(
                new SpamPolicy(OptionalDouble.of(5), OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.empty(),
                        Optional.empty(), false)));
        DomainFilter quarantining = both(DomainFilter.VirusAction.REJECT);
        assertThat(run(FiltersConfig.OnError.TEMPFAIL, List.of(tagOnly, quarantining), new ArrayList<>(), CLEAN, spamd(12)))
                .isInstanceOf(FilterVerdict.Quarantine.class);
        // only the domain with clamd is refused a virus; one reply covers both, so the reject wins
        List<Engine> ran = new ArrayList<>();
        assertThat(run(FiltersConfig.OnError.TEMPFAIL, List.of(tagOnly, quarantining), ran, EICAR, spamd(0)))
                .isInstanceOf(FilterVerdict.Reject.class);
        assertThat(ran).containsExactly(Engine.CLAMD, Engine.SPAMD); // tagOnly still needed spamd
    }

    @Test
    void rspamdActionDecidesWhenAsked() {
        DomainFilter byAction = new DomainFilter(List.of(Engine.RSPAMD), DomainFilter.VirusAction.REJECT, Optional.of(
                new SpamPolicy(OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.empty(), OptionalDouble.empty(),
                        Optional.of("[SPAM] "), true)));
        EngineResult gtube = new EngineResult.Scored(Engine.RSPAMD, 15, 15, true, List.of("GTUBE"), Optional.of("reject"));
        assertThat(run(byAction, gtube)).isInstanceOf(FilterVerdict.Reject.class);
        EngineResult header = new EngineResult.Scored(Engine.RSPAMD, 7, 15, true, List.of(), Optional.of("add header"));
        assertThat(((FilterVerdict.Accept) run(byAction, header)).subjectPrefix()).contains("[SPAM] ");
        EngineResult soft = new EngineResult.Scored(Engine.RSPAMD, 3, 15, false, List.of(), Optional.of("soft reject"));
        assertThat(run(byAction, soft)).isInstanceOf(FilterVerdict.TempFail.class);
        // Rspamd's greylist action defers as its proxy and milter do (451 4.7.1); it was taken as "no action" and accepted
        EngineResult greylist = new EngineResult.Scored(Engine.RSPAMD, 4, 15, false, List.of(), Optional.of("greylist"));
        assertThat(run(byAction, greylist)).isInstanceOfSatisfying(FilterVerdict.TempFail.class,
                t -> assertThat(t.reply().summary()).startsWith("451 4.7.1"));
    }

    @Test
    void noPoliciesMeansNoScanning() {
        List<Engine> ran = new ArrayList<>();
        FilterVerdict v = run(FiltersConfig.OnError.TEMPFAIL, List.of(), ran, EICAR);
        assertThat(v).isInstanceOf(FilterVerdict.Accept.class);
        assertThat(((FilterVerdict.Accept) v).unchanged()).isTrue();
        assertThat(ran).isEmpty();
    }

    @Test
    void tooLargeIsAcceptedSkippedByDefault() {
        EngineResult big = new EngineResult.TooLarge(Engine.CLAMD, 30_000_000, "over filters.clamd.stream-max-length 26214400");
        FilterVerdict v = run(new DomainFilter(List.of(Engine.CLAMD), DomainFilter.VirusAction.REJECT, Optional.empty()), big);
        assertThat(((FilterVerdict.Accept) v).headers()).extracting(Object::toString).containsExactly("X-Mxd-Scan: skipped", "X-Mxd-Scan-Skipped: clamd too large");
    }

    /**
     * A message over spamd's max-size is passed on unscanned by spamd, as spamc does, even with
     * on-too-large: reject, which is about viruses (clamd); a slow spam scan of a large message
     * answered 451 at every retry until the sender bounced it.
     */
    @Test
    void tooLargeForASpamEngineIsSkippedEvenWhereTooLargeForClamdIsRejected() {
        FiltersConfig rejecting = new FiltersConfig(Optional.empty(), Optional.empty(), Optional.empty(), FiltersConfig.DEFAULT_TIMEOUT,
                FiltersConfig.OnError.TEMPFAIL, FiltersConfig.OnTooLarge.REJECT);
        EngineResult bigForSpamd = new EngineResult.TooLarge(Engine.SPAMD, 600_000, "over filters.spamd.max-size 512000");
        DomainFilter spam = new DomainFilter(List.of(Engine.SPAMD), DomainFilter.VirusAction.REJECT, Optional.of(STEPS));
        FilterVerdict v = FilterChain.decide(spam, List.of(bigForSpamd), rejecting);
        assertThat(((FilterVerdict.Accept) v).headers()).extracting(Object::toString)
                .containsExactly("X-Mxd-Scan: skipped", "X-Mxd-Scan-Skipped: spamd too large");
        EngineResult bigForClamd = new EngineResult.TooLarge(Engine.CLAMD, 30_000_000, "over filters.clamd.stream-max-length 26214400");
        assertThat(FilterChain.decide(new DomainFilter(List.of(Engine.CLAMD), DomainFilter.VirusAction.REJECT, Optional.empty()),
                List.of(bigForClamd), rejecting)).isInstanceOf(FilterVerdict.Reject.class);
    }

    @Test
    void verdictsAreCounted() {
        Map<Engine, ScanEngine> engines = Map.of(Engine.CLAMD, new Stand(EICAR, new ArrayList<>()));
        FilterChain chain = new FilterChain(config(FiltersConfig.OnError.TEMPFAIL), engines);
        chain.filter(MESSAGE, ENVELOPE, List.of(new DomainFilter(List.of(Engine.CLAMD), DomainFilter.VirusAction.REJECT, Optional.empty())));
        assertThat(chain.counts()).containsEntry("reject", 1L).containsEntry("accept", 0L);
    }

    /** An engine client that throws instead of returning Unavailable (a bug in it): handled like an engine down. */
    @Test
    void aThrowingEngineClientIsUnavailableAndOnErrorDecides() {
        ScanEngine broken = new ScanEngine() {
            @Override
            public Engine engine() {
                return Engine.RSPAMD;
            }

            @Override

            public Optional<EngineResult.Unavailable> ping() {

                return Optional.empty();

            }


            @Override
            public EngineResult scan(MessageSource message, ScanEnvelope envelope) {
                throw new IllegalArgumentException("invalid header value: \"δ@x\"");
            }
        };
        DomainFilter policy = new DomainFilter(List.of(Engine.RSPAMD), DomainFilter.VirusAction.REJECT, Optional.of(STEPS));
        FilterVerdict accepted = new FilterChain(config(FiltersConfig.OnError.ACCEPT), Map.of(Engine.RSPAMD, broken))
                .filter(MESSAGE, ENVELOPE, List.of(policy));
        assertThat(accepted).isInstanceOf(FilterVerdict.Accept.class);
        assertThat(((FilterVerdict.Accept) accepted).headers()).extracting(Object::toString)
                .containsExactly("X-Mxd-Scan: skipped", "X-Mxd-Scan-Skipped: rspamd protocol error");
        FilterVerdict deferred = new FilterChain(config(FiltersConfig.OnError.TEMPFAIL), Map.of(Engine.RSPAMD, broken))
                .filter(MESSAGE, ENVELOPE, List.of(policy));
        assertThat(deferred).isInstanceOf(FilterVerdict.TempFail.class);
        assertThat(deferred.results()).singleElement().satisfies(r ->
                assertThat(r.summary()).startsWith("rspamd: unavailable (protocol error: the rspamd client failed: "
                        + "java.lang.IllegalArgumentException: invalid header value"));
    }
}
