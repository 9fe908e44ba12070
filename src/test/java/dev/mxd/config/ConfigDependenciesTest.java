package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The configuration is read before anything else exists, so it may use the SMTP grammar
 * ({@code dev.mxd.smtp}: mailboxes, bare LF handling) and nothing else of mxd; every other package
 * reads its records. A type of another mxd package named in config, imported or written out in
 * full, would make a package cycle possible again.
 */
class ConfigDependenciesTest {

    private static final Pattern MXD_TYPE = Pattern.compile("\\bdev\\.mxd\\.([a-z][\\w.]*?)\\.[A-Z]");

    @Test
    void configUsesOnlyTheSmtpGrammar() throws IOException {
        List<String> offending = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("src/main/java/dev/mxd/config"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                Matcher m = MXD_TYPE.matcher(Files.readString(f));
                while (m.find()) {
                    String pkg = m.group(1);
                    if (!pkg.equals("config") && !pkg.equals("smtp")) {
                        offending.add(f.getFileName() + ": " + m.group());
                    }
                }
            }
        }
        assertThat(offending).isEmpty();
    }
}
