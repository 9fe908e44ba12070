package dev.mxd.mail;

import java.util.List;

/**
 * Where an accepted recipient's mail goes, decided at RCPT time; a relay route becomes a local one when a
 * reload makes its domain delivered here (QueueManager.rerouteWith), and a local one narrows to the mailboxes
 * still without a copy.
 */
public sealed interface Route {

    /** Final delivery here: the domain is local and the address resolved (aliases, catch-all) to these mailboxes. */
    record Local(String domain, List<String> mailboxes) implements Route {
        public Local {
            mailboxes = List.copyOf(mailboxes);
            if (mailboxes.isEmpty()) {
                throw new IllegalArgumentException("a local route needs at least one mailbox");
            }
        }
    }

    /** Onward delivery by MX to {@code domain}: a backup domain, or relaying for a trusted client. */
    record Relay(String domain) implements Route {}
}
