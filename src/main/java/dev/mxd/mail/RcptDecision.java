package dev.mxd.mail;

import dev.mxd.smtp.SmtpReply;
import java.util.Objects;

/** The answer to one RCPT TO: accept with a route, or refuse with a reply. */
public sealed interface RcptDecision {

    /**
     * @param route  where the recipient's mail goes
     * @param filter the filter policy the recipient's copy is decided by; the session keeps recipients
     *               of different policies out of one transaction
     */
    record Accept(Route route, FilterGroup filter) implements RcptDecision {
        public Accept {
            Objects.requireNonNull(filter, "filter");
        }

        /** A recipient whose mail no filter decides. */
        public Accept(Route route) {
            this(route, FilterGroup.UNFILTERED);
        }
    }

    record Refuse(SmtpReply reply) implements RcptDecision {}

    /**
     * Which filter policy decides for a recipient, as an opaque key compared with {@code equals}: a
     * domain without a filter and every domain with equal filter settings share one. One reply after
     * DATA answers for every recipient of a transaction, so only recipients with one key may share it
     * (the policy that makes the key knows what it means; the session only compares).
     */
    record FilterGroup(Object settings) {
        /** Recipients no filter decides for. */
        public static final FilterGroup UNFILTERED = new FilterGroup("unfiltered");

        public FilterGroup {
            Objects.requireNonNull(settings, "settings");
        }
    }
}
