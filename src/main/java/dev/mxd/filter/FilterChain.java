package dev.mxd.filter;

import dev.mxd.config.DomainFilter;
import dev.mxd.config.Engine;
import dev.mxd.config.FiltersConfig;
import dev.mxd.config.SpamPolicy;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.SmtpReply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway filter at the end of DATA (issue 7): runs the engines the recipients' domains ask
 * for over one message, each reading it from its source, and turns their results into one
 * {@link FilterVerdict} before the SMTP reply is given, so a rejection needs no bounce.
 *
 * <p>One message, one reply: the SMTP session keeps recipients whose domains filter differently out
 * of one transaction (452 4.5.3 at RCPT, RFC 5321 §4.5.3.1.10: the client sends them in another), so
 * every policy given here is one that each recipient's own domain asked for. Several domains with
 * equal filter settings may still share a message; each policy is then applied to the same engine
 * results and the strictest verdict wins, in this order: reject, tempfail, discard, quarantine,
 * accept tagged as spam, accept (equal policies give equal verdicts, so nobody's copy is decided by
 * a policy other than its own).
 *
 * <p>Engines run one after the other (clamd, spamd, rspamd); once clamd finds a virus and every
 * domain scans with clamd, the spam engines are skipped: the virus action decides.
 */
public final class FilterChain {

    private static final Logger log = LoggerFactory.getLogger(FilterChain.class);

    public static final String SCAN_HEADER = "X-Mxd-Scan";
    /** Beside {@code X-Mxd-Scan: skipped}: which engines were skipped and why, so that the scan header itself is just "skipped". */
    public static final String SKIPPED_HEADER = "X-Mxd-Scan-Skipped";

    private final FiltersConfig config;
    private final Map<Engine, ScanEngine> engines;
    private final Map<String, LongAdder> counts = new LinkedHashMap<>();

    /** A chain with its own clients for the engines configured. */
    public static FilterChain fromConfig(FiltersConfig config) {
        return new FilterChain(config, clients(config, config.timeout()));
    }

    /** A client for each engine configured, each exchange bounded by {@code timeout} (health probes use a shorter one). */
    public static Map<Engine, ScanEngine> clients(FiltersConfig config, Duration timeout) {
        Map<Engine, ScanEngine> clients = new EnumMap<>(Engine.class);
        config.clamd().ifPresent(c -> clients.put(Engine.CLAMD, new ClamdClient(c.address(), timeout, c.streamMaxLength())));
        config.spamd().ifPresent(c -> clients.put(Engine.SPAMD, new SpamdClient(c.address(), timeout, c.user(), c.maxSize())));
        config.rspamd().ifPresent(c -> clients.put(Engine.RSPAMD, new RspamdClient(c.url(), timeout, c.maxSize())));
        return clients;
    }

    /** A chain with the given engine clients (tests, or clients shared with something else). */
    public FilterChain(FiltersConfig config, Map<Engine, ScanEngine> engines) {
        this.config = config;
        this.engines = Map.copyOf(engines);
        for (String kind : List.of("accept", "tagged", "reject", "tempfail", "quarantine", "discard")) {
            counts.put(kind, new LongAdder());
        }
    }

    /**
     * Filters one message.
     *
     * @param message  the message text as received (the spool file), read once per engine
     * @param envelope the SMTP envelope
     * @param policies the filter policies of the recipients' domains, one per domain that has one;
     *                 empty means no filtering (Accept, unchanged)
     */
    public FilterVerdict filter(MessageSource message, ScanEnvelope envelope, Collection<DomainFilter> policies) {
        if (policies.isEmpty()) {
            return count(envelope, new FilterVerdict.Accept(List.of(), Optional.empty(), List.of()));
        }
        Set<Engine> wanted = EnumSet.noneOf(Engine.class);
        boolean everyDomainScansViruses = true;
        for (DomainFilter p : policies) {
            wanted.addAll(p.engines());
            everyDomainScansViruses &= p.engines().contains(Engine.CLAMD);
        }
        List<EngineResult> results = new ArrayList<>();
        for (Engine e : wanted) { // EnumSet order: clamd first
            ScanEngine client = engines.get(e);
            EngineResult r = client == null
                    ? new EngineResult.Unavailable(e, EngineResult.Reason.ENGINE_ERROR, "filters." + e + " is not configured")
                    : scan(client, message, envelope);
            results.add(r);
            if (r instanceof EngineResult.Infected && everyDomainScansViruses) {
                break;
            }
        }
        FilterVerdict verdict = null;
        for (DomainFilter p : policies) {
            FilterVerdict v = decide(p, results, config);
            if (verdict == null || v.strictness() > verdict.strictness()) {
                verdict = v;
            }
        }
        return count(envelope, verdict);
    }

    /**
     * One engine's result. Clients report every failure as {@link EngineResult.Unavailable}; should one
     * throw all the same (a bug), that is an unavailable engine too, so filters.on-error decides what the
     * client hears, never an exception turned into 452 further up.
     */
    private static EngineResult scan(ScanEngine client, MessageSource message, ScanEnvelope envelope) {
        try {
            return client.scan(message, envelope);
        } catch (RuntimeException ex) {
            log.error("{} filter: {} failed unexpectedly; treated as unavailable (filters.on-error decides)",
                    envelope.queueId(), client, ex);
            return new EngineResult.Unavailable(client.engine(), EngineResult.Reason.PROTOCOL_ERROR,
                    "the " + client.engine() + " client failed: " + ex);
        }
    }

    /** Verdicts so far by kind (accept, tagged, reject, tempfail, quarantine, discard), for metrics. */
    public Map<String, Long> counts() {
        Map<String, Long> out = new LinkedHashMap<>();
        counts.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    private FilterVerdict count(ScanEnvelope envelope, FilterVerdict v) {
        counts.get(kind(v)).increment();
        // the engines' words (virus and rule names) escaped: one line an event, whatever an engine answers
        log.info("{} filter: {}{}", envelope.queueId(), dev.mxd.smtp.LogText.safe(v.summary()), v.results().isEmpty() ? ""
                : " [" + dev.mxd.smtp.LogText.safe(String.join("; ", v.results().stream().map(EngineResult::summary).toList())) + "]");
        return v;
    }

    /** The verdict's kind for counting and logs: accept, tagged, reject, tempfail, quarantine or discard. */
    static String kind(FilterVerdict v) {
        if (v instanceof FilterVerdict.Accept a) {
            return a.taggedAsSpam() ? "tagged" : "accept";
        }
        if (v instanceof FilterVerdict.Reject) {
            return "reject";
        }
        if (v instanceof FilterVerdict.TempFail) {
            return "tempfail";
        }
        return v instanceof FilterVerdict.Quarantine ? "quarantine" : "discard";
    }

    /** One domain's policy applied to the engine results: the strictest of what each result calls for. */
    static FilterVerdict decide(DomainFilter policy, List<EngineResult> all, FiltersConfig config) {
        List<EngineResult> results = all.stream().filter(r -> policy.engines().contains(r.engine())).toList();
        List<FilterVerdict> candidates = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (EngineResult r : results) {
            if (r instanceof EngineResult.Infected i) {
                String virus = ClamdClient.printable(i.virus());
                candidates.add(switch (policy.virus()) {
                    case REJECT -> new FilterVerdict.Reject(reply(554, EnhancedStatus.NOT_AUTHORIZED, "Message refused: virus " + virus + " found"), all);
                    case QUARANTINE -> new FilterVerdict.Quarantine("virus " + virus + " (" + i.engine() + ")", all);
                    case DISCARD -> new FilterVerdict.Discard("virus " + virus + " (" + i.engine() + ")", all);
                });
            } else if (r instanceof EngineResult.Unavailable u) {
                if (config.onError() == FiltersConfig.OnError.TEMPFAIL) {
                    candidates.add(new FilterVerdict.TempFail(reply(451, EnhancedStatus.NOT_AUTHORIZED_TEMPORARY, "Message not scanned (" + u.engine()
                            + " unavailable); try again later"), all));
                } else {
                    skipped.add(u.engine() + " " + u.reason().name().toLowerCase(Locale.ROOT).replace('_', ' '));
                }
            } else if (r instanceof EngineResult.TooLarge t) {
                // on-too-large is for viruses: a message too large to scan for spam is passed on unscanned, as spamc does
                if (config.onTooLarge() == FiltersConfig.OnTooLarge.REJECT && t.engine() == Engine.CLAMD) {
                    candidates.add(new FilterVerdict.Reject(reply(552, EnhancedStatus.TOO_BIG, "Message too big to scan for viruses"), all));
                } else {
                    skipped.add(t.engine() + " too large");
                }
            }
        }
        List<FilterVerdict.Header> headers = new ArrayList<>();
        Optional<String> prefix = Optional.empty();
        List<EngineResult.Scored> scored = results.stream()
                .filter(EngineResult.Scored.class::isInstance).map(EngineResult.Scored.class::cast).toList();
        if (!scored.isEmpty()) {
            SpamDecision d = spamDecision(policy.spam(), scored, all);
            candidates.addAll(d.verdict().stream().toList());
            headers.add(new FilterVerdict.Header(MessageTagger.SPAM_STATUS, (d.tagged() ? "Yes" : "No")
                    + String.format(Locale.ROOT, ", score=%.1f required=%.1f", d.score(), d.required())
                    + " engines=" + String.join(",", scored.stream().map(s -> s.engine().configName()).toList())));
            headers.add(new FilterVerdict.Header(MessageTagger.SPAM_SCORE, String.format(Locale.ROOT, "%.1f", d.score())));
            if (d.tagged()) {
                prefix = policy.spam().flatMap(SpamPolicy::subjectPrefix);
            }
        }
        if (!skipped.isEmpty()) {
            headers.add(new FilterVerdict.Header(SCAN_HEADER, "skipped"));
            headers.add(new FilterVerdict.Header(SKIPPED_HEADER, String.join(", ", skipped)));
        }
        FilterVerdict verdict = new FilterVerdict.Accept(headers, prefix, all);
        for (FilterVerdict c : candidates) {
            if (c.strictness() > verdict.strictness()) {
                verdict = c;
            }
        }
        return verdict;
    }

    /** The spam engines' combined view: the highest score, and the step it (or Rspamd's action) reaches. */
    private record SpamDecision(double score, double required, boolean tagged, Optional<FilterVerdict> verdict) {}

    private static SpamDecision spamDecision(Optional<SpamPolicy> spam, List<EngineResult.Scored> scored, List<EngineResult> all) {
        boolean byRspamdAction = spam.map(SpamPolicy::rspamdAction).orElse(false);
        double score = scored.stream().mapToDouble(EngineResult.Scored::score).max().orElse(0);
        double thresholdScore = scored.stream().filter(s -> !(byRspamdAction && s.engine() == Engine.RSPAMD))
                .mapToDouble(EngineResult.Scored::score).max().orElse(Double.NEGATIVE_INFINITY);
        if (spam.isEmpty()) {
            // no spam policy: report the engines' own judgement, decide nothing
            boolean engineSpam = scored.stream().anyMatch(EngineResult.Scored::engineSaysSpam);
            double required = scored.stream().mapToDouble(EngineResult.Scored::threshold).min().orElse(0);
            return new SpamDecision(score, required, engineSpam, Optional.empty());
        }
        SpamPolicy p = spam.get();
        Optional<SpamPolicy.Step> step = p.stepFor(thresholdScore);
        Optional<FilterVerdict> rspamdVerdict = Optional.empty();
        if (byRspamdAction) {
            for (EngineResult.Scored s : scored) {
                if (s.engine() == Engine.RSPAMD) {
                    String action = s.action().orElse("no action");
                    Optional<SpamPolicy.Step> fromAction = switch (action) {
                        case "reject" -> Optional.of(SpamPolicy.Step.REJECT);
                        case "discard" -> Optional.of(SpamPolicy.Step.DISCARD);
                        case "quarantine" -> Optional.of(SpamPolicy.Step.QUARANTINE);
                        case "add header", "rewrite subject" -> Optional.of(SpamPolicy.Step.TAG);
                        default -> Optional.empty();
                    };
                    if (action.equals("soft reject") || action.equals("greylist")) { // both "try again later" to Rspamd's proxy
                        rspamdVerdict = Optional.of(new FilterVerdict.TempFail(reply(451, EnhancedStatus.NOT_AUTHORIZED_TEMPORARY, "Message deferred by the spam filter;"
                                + " try again later"), all));
                    }
                    if (fromAction.isPresent() && (step.isEmpty() || fromAction.get().compareTo(step.get()) > 0)) {
                        step = fromAction;
                    }
                }
            }
        }
        // required= is the score at which this policy's first step is taken (as the Yes/No word beside it says), so a
        // reader's filter comparing the two agrees with the word; the engines' own threshold only without any step
        double required = java.util.stream.Stream.of(p.tag(), p.quarantine(), p.discard(), p.reject())
                .filter(OptionalDouble::isPresent).mapToDouble(OptionalDouble::getAsDouble).min()
                .orElse(scored.stream().mapToDouble(EngineResult.Scored::threshold).min().orElse(0));
        String why = String.format(Locale.ROOT, "spam score %.1f", score);
        Optional<FilterVerdict> verdict = step.flatMap(s -> switch (s) {
            case TAG -> Optional.<FilterVerdict>empty();
            case QUARANTINE -> Optional.of(new FilterVerdict.Quarantine(why, all));
            case DISCARD -> Optional.of(new FilterVerdict.Discard(why, all));
            case REJECT -> Optional.of(new FilterVerdict.Reject(reply(550, EnhancedStatus.NOT_AUTHORIZED, "Message refused as spam"), all));
        });
        if (rspamdVerdict.isPresent() && (verdict.isEmpty() || rspamdVerdict.get().strictness() > verdict.get().strictness())) {
            verdict = rspamdVerdict;
        }
        return new SpamDecision(score, required, step.isPresent(), verdict);
    }

    private static SmtpReply reply(int code, EnhancedStatus status, String text) {
        return SmtpReply.of(code, status, text);
    }
}
