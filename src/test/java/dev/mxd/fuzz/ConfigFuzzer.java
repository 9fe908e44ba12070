package dev.mxd.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mxd.config.ConfigException;
import dev.mxd.config.ConfigLoader;
import java.nio.file.Path;

/**
 * Jazzer target: the configuration loader turns any text into a configuration or a
 * ConfigException (file, line, what is wrong, what to do); no other exception escapes, so
 * {@code mxd serve} always exits 78 with a readable message on a bad file.
 */
public final class ConfigFuzzer {

    private static final Path FILE = Path.of("fuzz.yaml");

    static {
        // Loads and instruments Jackson before the first input, so that its start-up is not taken for a hang.
        try {
            ConfigLoader.parse("hostname: warm.test\n", FILE);
        } catch (ConfigException ignored) {
            // only the class loading matters
        }
    }

    private ConfigFuzzer() {}

    public static void fuzzerTestOneInput(FuzzedDataProvider data) {
        String yaml = data.consumeRemainingAsString();
        try {
            ConfigLoader.parse(yaml, FILE);
        } catch (ConfigException refused) {
            // the expected answer to a bad file
        }
    }
}
