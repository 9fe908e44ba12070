package dev.mxd.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mxd.smtp.SmtpCommand;

/**
 * Jazzer target: any command line parses to a command or to {@link SmtpCommand.Invalid} with a
 * 5xx reply; nothing else (no exception) reaches the session.
 */
public final class SmtpCommandFuzzer {

    private SmtpCommandFuzzer() {}

    public static void fuzzerTestOneInput(FuzzedDataProvider data) {
        byte[] line = data.consumeRemainingAsBytes();
        SmtpCommand c = SmtpCommand.parse(line);
        if (c == null) {
            throw new AssertionError("null command");
        }
        if (c instanceof SmtpCommand.Invalid invalid && invalid.reply().code() / 100 != 5) {
            throw new AssertionError("an invalid command answered " + invalid.reply());
        }
    }
}
