package dev.mxd.config;

import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What to do with spam by score (issue 7: {@code spam: {tag: 5.0, quarantine: 10.0, reject: 15.0,
 * subject-prefix: "[SPAM] "}}); an omitted step is skipped. The step taken is the one with the
 * highest threshold the score reaches (on a tie the harsher step); {@code discard} is a further
 * step. With {@code rspamd-action: true} Rspamd's own action decides for Rspamd's result, and its
 * score is not compared with these thresholds.
 */
public record SpamPolicy(OptionalDouble tag, OptionalDouble quarantine, OptionalDouble reject, OptionalDouble discard,
                         Optional<String> subjectPrefix, boolean rspamdAction) {

    /** The steps, mildest first: the order that breaks ties between equal thresholds. */
    public enum Step { TAG, QUARANTINE, DISCARD, REJECT }

    public SpamPolicy {
        subjectPrefix.ifPresent(p -> {
            if (p.indexOf('\r') >= 0 || p.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("subject-prefix must be one line");
            }
        });
    }

    /** The threshold configured for a step. */
    public OptionalDouble threshold(Step step) {
        return switch (step) {
            case TAG -> tag;
            case QUARANTINE -> quarantine;
            case DISCARD -> discard;
            case REJECT -> reject;
        };
    }

    /** The step a score reaches, if any. */
    public Optional<Step> stepFor(double score) {
        Step chosen = null;
        double best = Double.NEGATIVE_INFINITY;
        for (Step s : Step.values()) {
            OptionalDouble t = threshold(s);
            if (t.isPresent() && score >= t.getAsDouble() && t.getAsDouble() >= best) {
                chosen = s;
                best = t.getAsDouble();
            }
        }
        return Optional.ofNullable(chosen);
    }

    static SpamPolicy fromMap(Section m) {
        m.onlyKeys("tag", "quarantine", "reject", "discard", "subject-prefix", "rspamd-action");
        SpamPolicy p = new SpamPolicy(score(m, "tag"), score(m, "quarantine"), score(m, "reject"), score(m, "discard"),
                m.string("subject-prefix"), m.bool("rspamd-action").orElse(false));
        if (p.tag.isEmpty() && p.quarantine.isEmpty() && p.reject.isEmpty() && p.discard.isEmpty() && !p.rspamdAction) {
            throw m.problem(m.path() + ": give at least one of tag, quarantine, reject, discard"
                    + " (score thresholds) or rspamd-action: true; to skip spam handling leave spam out");
        }
        // The highest threshold a score reaches decides, so a milder step above a harsher one inverts them: with tag 10 and
        // reject 5, a score of 12 was only tagged while 7 was refused. They rise from tag to quarantine to reject and
        // discard (those two in either order: refused, or dropped in silence, further up).
        String[][] rising = {{"tag", "quarantine"}, {"tag", "reject"}, {"tag", "discard"}, {"quarantine", "reject"},
            {"quarantine", "discard"}};
        for (String[] pair : rising) {
            OptionalDouble milder = score(m, pair[0]);
            OptionalDouble harsher = score(m, pair[1]);
            if (milder.isPresent() && harsher.isPresent() && milder.getAsDouble() > harsher.getAsDouble()) {
                throw m.problem(pair[0], m.path() + "." + pair[0] + " (" + milder.getAsDouble() + ") is above " + pair[1] + " ("
                        + harsher.getAsDouble() + "): the highest threshold a score reaches decides, so a score above both would"
                        + " only be " + (pair[0].equals("tag") ? "tagged" : "quarantined") + "; give thresholds that rise from tag"
                        + " to quarantine to reject and discard");
            }
        }
        if (p.subjectPrefix.isPresent() && p.tag.isEmpty() && !p.rspamdAction) {
            throw m.problem("subject-prefix", m.path() + ".subject-prefix is set but there is no tag threshold to apply it at: add tag");
        }
        return p;
    }

    private static OptionalDouble score(Section m, String key) {
        return m.number(key).map(OptionalDouble::of).orElse(OptionalDouble.empty());
    }
}
