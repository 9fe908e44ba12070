package dev.mxd.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mxd.dns.server.ServedZone;
import dev.mxd.dns.server.ZoneFileException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Jazzer target: the zone file loader ({@code mxd dns}) either serves a zone or refuses the file
 * with ZoneFileException (file, line, what is wrong); nothing else escapes. $INCLUDE and
 * $GENERATE are left out: they read other files or expand ranges an operator asked for.
 */
public final class ZoneFileFuzzer {

    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("mxd-fuzz", ".zone");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ZoneFileFuzzer() {}

    public static void fuzzerTestOneInput(FuzzedDataProvider data) throws IOException {
        String body = data.consumeRemainingAsString();
        String upper = body.toUpperCase(Locale.ROOT);
        if (upper.contains("$INCLUDE") || upper.contains("$GENERATE")) {
            return;
        }
        String zone = "$ORIGIN fuzz.test.\n$TTL 300\n@ IN SOA ns.fuzz.test. hostmaster.fuzz.test. ( 1 3600 600 86400 60 )\n@ NS ns\nns A 192.0.2.53\n" + body + "\n";
        Files.writeString(FILE, zone, StandardCharsets.UTF_8);
        try {
            ServedZone.load(FILE);
        } catch (ZoneFileException refused) {
            // the expected answer to a broken file
        }
    }
}
