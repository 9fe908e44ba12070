package dev.mxd.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.mxd.testing.Certificates;
import dev.mxd.testing.LogCapture;
import dev.mxd.testing.TestMx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A STARTTLS private key every user of the host can read lets any of them pose as this MX; nothing
 * said so (OpenSMTPD refuses such a key; mxd already warns of its own admin token). Now start (and
 * reload) warns with the file, its mode and the chmod.
 */
class KeyPermissionsTest {

    @Test
    void aPrivateKeyReadableByEveryoneIsWarnedOf(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Certificates.selfSigned(cert, key);
        String tls = "tls:\n  certificate: " + cert + "\n  private-key: " + key + "\n";

        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        try (LogCapture log = LogCapture.start(Level.WARN); TestMx mx = TestMx.start(tls)) {
            assertThat(log.lines()).anySatisfy(l -> assertThat(l).contains("tls.private-key " + key
                    + " can be read by every user of this host (mode rw-r--r--)", "chmod 0640"));
        }
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r-----"));
        try (LogCapture log = LogCapture.start(Level.WARN); TestMx mx = TestMx.start(tls)) {
            assertThat(log.lines()).noneSatisfy(l -> assertThat(l).contains("can be read by every user"));
        }
    }
}
