package dev.mxd.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mxd.smtp.Mailbox;

/**
 * Jazzer target: the mailbox parser (RFC 5321 §4.1.2 Mailbox, RFC 6531 UTF-8) refuses with
 * IllegalArgumentException or returns a mailbox whose text parses back to the same mailbox.
 */
public final class MailboxFuzzer {

    private MailboxFuzzer() {}

    public static void fuzzerTestOneInput(FuzzedDataProvider data) {
        String text = data.consumeRemainingAsString();
        Mailbox m;
        try {
            m = Mailbox.parse(text);
        } catch (IllegalArgumentException refused) {
            return;
        }
        Mailbox again = Mailbox.parse(m.toString());
        if (!again.equals(m)) {
            throw new AssertionError("'" + text + "' parsed to " + m + ", which parses to " + again);
        }
    }
}
