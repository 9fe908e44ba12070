package dev.mxd.filter;

import dev.mxd.config.Engine;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * What one engine said about one message. Engines never throw: a refused connection, a timeout or
 * a reply mxd cannot read is an {@link Unavailable} result, so that the policy (on-error tempfail or
 * accept) decides what the client hears, in one place.
 */
public sealed interface EngineResult {

    Engine engine();

    /** One line for logs and quarantine metadata. */
    String summary();

    /** The virus scanner found nothing. */
    record Clean(Engine engine) implements EngineResult {
        @Override
        public String summary() {
            return engine + ": clean";
        }
    }

    /** The virus scanner found {@code virus} (clamd: "stream: NAME FOUND"). */
    record Infected(Engine engine, String virus) implements EngineResult {
        @Override
        public String summary() {
            return engine + ": infected with " + virus;
        }
    }

    /**
     * A spam engine's score. {@code threshold} is the engine's own required score, {@code engineSaysSpam}
     * its own judgement, {@code action} Rspamd's action ("no action", "add header", "reject", ...) and
     * empty for spamd; mxd's thresholds, not these, decide unless the policy lets Rspamd's action decide.
     */
    record Scored(Engine engine, double score, double threshold, boolean engineSaysSpam, List<String> symbols,
                  Optional<String> action) implements EngineResult {
        public Scored {
            symbols = List.copyOf(symbols);
        }

        /** Symbols named in a summary at most: it goes into log lines and the quarantine's entry. */
        private static final int SYMBOLS_SHOWN = 20;

        /** The score (in the C locale's digits: a German system wrote 12,5), the action, and the rules that matched. */
        @Override
        public String summary() {
            String rules = symbols.isEmpty() ? "" : " [" + String.join(" ", symbols.subList(0, Math.min(SYMBOLS_SHOWN, symbols.size())))
                    + (symbols.size() > SYMBOLS_SHOWN ? " +" + (symbols.size() - SYMBOLS_SHOWN) + " more" : "") + "]";
            return engine + String.format(java.util.Locale.ROOT, ": score %.1f / %.1f", score, threshold)
                    + action.map(a -> ", action " + a).orElse("") + rules;
        }
    }

    /**
     * The message is larger than the engine takes (clamd's StreamMaxLength: mxd's configured cap, or
     * clamd's "INSTREAM size limit exceeded"). Not an error: the policy decides (filters.on-too-large).
     */
    record TooLarge(Engine engine, long size, String detail) implements EngineResult {
        @Override
        public String summary() {
            return engine + ": not scanned, " + size + " bytes: " + detail;
        }
    }

    /** Why an engine gave no answer. */
    enum Reason {
        /** Nothing listens (connection refused, no such socket, unknown host). */
        REFUSED,
        /** No complete answer within filters.timeout. */
        TIMEOUT,
        /** An answer mxd cannot read, or the connection broke mid-exchange. */
        PROTOCOL_ERROR,
        /** The engine answered that it failed (clamd "... ERROR", spamd a non-zero EX_ code, HTTP 5xx). */
        ENGINE_ERROR
    }

    /** No verdict from this engine; {@code detail} says what happened and where. */
    record Unavailable(Engine engine, Reason reason, String detail) implements EngineResult {
        /** The message source failed while an engine was reading it (the spool file vanished or a disk error). */
        static Unavailable messageUnreadable(Engine engine, IOException e) {
            return new Unavailable(engine, Reason.PROTOCOL_ERROR, "cannot read the message to scan: " + e.getMessage());
        }

        @Override
        public String summary() {
            return engine + ": unavailable (" + reason.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + ": " + detail + ")";
        }
    }
}
