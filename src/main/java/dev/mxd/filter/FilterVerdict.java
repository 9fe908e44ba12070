package dev.mxd.filter;

import dev.mxd.smtp.SmtpReply;
import java.util.List;
import java.util.Optional;

/**
 * The one decision for a message at the end of DATA, before the reply. Reject and TempFail carry
 * the reply to send; Accept, Quarantine and Discard are answered 250 once the message (or, for
 * Discard, nothing) is durably stored. Every verdict keeps the engine results it was made from,
 * for the log line and the quarantine metadata.
 */
public sealed interface FilterVerdict {

    /** What each engine said, in the order they ran. */
    List<EngineResult> results();

    /** One line for the log: the verdict and why. */
    String summary();

    /**
     * How far the verdict keeps the message from its recipients; with recipients in several domains
     * the verdict with the highest rank wins (see {@link FilterChain}).
     */
    int strictness();

    /** A header mxd adds to an accepted message. */
    record Header(String name, String value) {
        public Header {
            if (!name.matches("[!-9;-~]+") || value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("header '" + name + "' must be a field name and a one-line value (RFC 5322 §2.2)");
            }
        }

        @Override
        public String toString() {
            return name + ": " + value;
        }
    }

    /**
     * Deliver, with these headers added at the top and, when tagged as spam, the subject prefix
     * (apply both with {@link MessageTagger}).
     */
    record Accept(List<Header> headers, Optional<String> subjectPrefix, List<EngineResult> results) implements FilterVerdict {
        public Accept {
            headers = List.copyOf(headers);
            results = List.copyOf(results);
        }

        /** Nothing to add: the message goes on unchanged. */
        public boolean unchanged() {
            return headers.isEmpty() && subjectPrefix.isEmpty();
        }

        /** Tagged as spam (X-Spam-Status: Yes). */
        public boolean taggedAsSpam() {
            return headers.stream().anyMatch(h -> h.name().equals(MessageTagger.SPAM_STATUS) && h.value().startsWith("Yes"));
        }

        @Override
        public String summary() {
            return "accept" + (headers.isEmpty() ? "" : " " + headers) + subjectPrefix.map(p -> " subject prefix '" + p + "'").orElse("");
        }

        @Override
        public int strictness() {
            return taggedAsSpam() ? 1 : 0;
        }
    }

    /** Refuse permanently: 554 5.7.1 for a virus, 550 5.7.1 for spam, 552 5.3.4 too big to scan. */
    record Reject(SmtpReply reply, List<EngineResult> results) implements FilterVerdict {
        public Reject {
            results = List.copyOf(results);
        }

        @Override
        public String summary() {
            return "reject " + reply.summary();
        }

        @Override
        public int strictness() {
            return 5;
        }
    }

    /** Refuse for now, 451 4.7.1: an engine could not give an answer, and the client will retry. */
    record TempFail(SmtpReply reply, List<EngineResult> results) implements FilterVerdict {
        public TempFail {
            results = List.copyOf(results);
        }

        @Override
        public String summary() {
            return "tempfail " + reply.summary();
        }

        @Override
        public int strictness() {
            return 4;
        }
    }

    /** Accept (250) into the quarantine instead of the spool; delivered only if released. */
    record Quarantine(String reason, List<EngineResult> results) implements FilterVerdict {
        public Quarantine {
            results = List.copyOf(results);
        }

        @Override
        public String summary() {
            return "quarantine: " + reason;
        }

        @Override
        public int strictness() {
            return 2;
        }
    }

    /** Accept (250) and drop. */
    record Discard(String reason, List<EngineResult> results) implements FilterVerdict {
        public Discard {
            results = List.copyOf(results);
        }

        @Override
        public String summary() {
            return "discard: " + reason;
        }

        @Override
        public int strictness() {
            return 3;
        }
    }
}
