package dev.mxd.dns.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mxd.testing.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Inputs the Jazzer target ZoneFileFuzzer found (issue 6): each must be refused with a
 * ZoneFileException naming the file, never escape as another exception (which made
 * {@code mxd dns} die with a stack trace instead of saying what is wrong where).
 */
class ZoneFileFuzzFindingsTest {

    private static final String HEAD = "$ORIGIN fuzz.test.\n$TTL 300\n"
            + "@ IN SOA ns.fuzz.test. hostmaster.fuzz.test. ( 1 3600 600 86400 60 )\n";

    @Test
    void lineOfEmptyQuotedStringsIsAParseErrorNotACrash() throws Exception {
        Path dir = Files.createTempDirectory("mxd-zone-finding");
        try {
            // Jazzer crash input CiIiIiIiIiIiIiIiIg== : StringIndexOutOfBoundsException inside dnsjava's Master.
            Path zone = Files.writeString(dir.resolve("fuzz.test.zone"), HEAD + "\n\"\"\"\"\"\"\"\"\"\"\"\"\n");
            assertThatThrownBy(() -> ServedZone.load(zone))
                    .isInstanceOf(ZoneFileException.class)
                    .hasMessageContaining(zone.toString())
                    .hasMessageContaining("after the 1 read so far");
        } finally {
            TestDirs.deleteTree(dir);
        }
    }

    @Test
    void theSameZoneWithoutTheBadLineLoads() throws Exception {
        Path dir = Files.createTempDirectory("mxd-zone-finding");
        try {
            Path zone = Files.writeString(dir.resolve("fuzz.test.zone"), HEAD + "@ NS ns\nns A 192.0.2.53\n@ MX 10 mx\nmx A 192.0.2.1\n");
            assertThat(ServedZone.load(zone)).isNotNull();
        } finally {
            TestDirs.deleteTree(dir);
        }
    }
}
