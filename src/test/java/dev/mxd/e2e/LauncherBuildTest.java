package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.Await;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 point 7: the {@code ./mxd} launcher's first build shows its progress on stderr while
 * it runs, instead of one line and then silence. The real launcher script runs in a copy of the
 * project layout whose {@code mvnw} stands in for Maven: it prints a line, then waits until the
 * test lets it finish, so the test sees whether that line reached stderr while the build was
 * still running. {@code java} on the PATH, named by {@code MXD_JAVA}, stands in for the JVM the launcher finally runs.
 */
class LauncherBuildTest {

    @Test
    void theFirstBuildStreamsMavensOutputOnStderrWhileItRuns(@TempDir Path dir) throws Exception {
        Files.copy(Path.of("mxd"), dir.resolve("mxd"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.writeString(dir.resolve("pom.xml"), "<project/>\n");
        Files.createDirectories(dir.resolve("src/main"));
        Path go = dir.resolve("go");
        executable(dir.resolve("mvnw"), """
                #!/bin/sh
                echo "[INFO] mvnw called with: $*"
                echo "[INFO] Compiling 200 source files"
                i=0
                while [ ! -f "%s" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
                mkdir -p target && echo jar > target/mxd.jar
                echo "[INFO] BUILD SUCCESS"
                """.formatted(go));
        Path bin = Files.createDirectories(dir.resolve("bin"));
        executable(bin.resolve("java"), "#!/bin/sh\necho \"java ran: $*\"\n");

        Path err = dir.resolve("stderr");
        ProcessBuilder pb = new ProcessBuilder("bash", dir.resolve("mxd").toString(), "version").directory(dir.toFile())
                .redirectError(err.toFile()).redirectOutput(dir.resolve("stdout").toFile());
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("MXD_JAVA", bin.resolve("java").toString()); // else the launcher prefers a JDK 25 under /usr/lib/jvm
        Process p = pb.start();
        try {
            boolean shown = Await.within(Duration.ofSeconds(20), () -> Files.readString(err).contains("Compiling 200 source files"));
            String during = Files.readString(err, StandardCharsets.UTF_8);
            assertThat(shown).as(during).isTrue();
            assertThat(p.isAlive()).as("the build is still running while its progress is shown").isTrue();
            assertThat(during).contains("mxd: building ").contains("mxd build: [INFO] Compiling 200 source files");
            assertThat(during).as("Maven is not run quietly").doesNotContain("with: -q").doesNotContain(" -q ");
            Files.writeString(go, "");
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            assertThat(Files.readString(err)).contains("mxd build: [INFO] BUILD SUCCESS").containsPattern("mxd: built .* in \\d+ s");
            assertThat(Files.readString(dir.resolve("stdout"))).contains("java ran: ").contains("-jar " + dir.resolve("target/mxd.jar"));
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A read-only install (ProtectSystem=strict, or here an immutable directory) whose sources are newer than its jar:
     * the launcher could not take its build lock ("Read-only file system"), exited 1 and the unit restarted every 5 s.
     * Now the jar there runs, with a line saying how to rebuild.
     */
    @Test
    void aReadOnlyInstallWithAnOlderJarRunsItAndSaysHowToRebuild(@TempDir Path dir) throws Exception {
        Files.copy(Path.of("mxd"), dir.resolve("mxd"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.createDirectories(dir.resolve("target"));
        Files.writeString(dir.resolve("target/mxd.jar"), "jar\n");
        Files.setLastModifiedTime(dir.resolve("target/mxd.jar"), java.nio.file.attribute.FileTime.fromMillis(0));
        Files.writeString(dir.resolve("pom.xml"), "<project/>\n"); // newer than the jar
        Files.createDirectories(dir.resolve("src/main"));
        executable(dir.resolve("mvnw"), "#!/bin/sh\necho 'mvnw must not run here' >&2\nexit 1\n");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        executable(bin.resolve("java"), "#!/bin/sh\necho \"java ran: $*\"\n");
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", List.of(dir)),
                "chattr +i needs root on a file system with attributes");
        try {
            Path out = Files.createTempFile("mxd-launcher", ".out");
            Path err = Files.createTempFile("mxd-launcher", ".err");
            ProcessBuilder pb = new ProcessBuilder("bash", dir.resolve("mxd").toString(), "version").directory(dir.toFile())
                    .redirectError(err.toFile()).redirectOutput(out.toFile());
            pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
            pb.environment().put("MXD_JAVA", bin.resolve("java").toString());
            Process p = pb.start();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String said = Files.readString(err);
            assertThat(p.exitValue()).as(said).isZero();
            assertThat(said).contains("older than the sources").contains("./mvnw -B -DskipTests package")
                    .doesNotContain("mvnw must not run");
            assertThat(Files.readString(out)).contains("java ran: ").contains("-jar " + dir.resolve("target/mxd.jar"));
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        } finally {
            dev.mxd.testing.Chattr.change("-i", List.of(dir));
        }
        // Without a jar at all: nothing can run; exit 78 (a configuration matter for systemd: no restart loop) with the advice.
        Files.delete(dir.resolve("target/mxd.jar"));
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.mxd.testing.Chattr.change("+i", List.of(dir)), "chattr +i");
        try {
            Path err = Files.createTempFile("mxd-launcher", ".err");
            ProcessBuilder pb = new ProcessBuilder("bash", dir.resolve("mxd").toString(), "version").directory(dir.toFile())
                    .redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
            pb.environment().put("MXD_JAVA", bin.resolve("java").toString());
            Process p = pb.start();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(78);
            assertThat(Files.readString(err)).contains("is missing").contains("./mvnw -B -DskipTests package");
            Files.deleteIfExists(err);
        } finally {
            dev.mxd.testing.Chattr.change("-i", List.of(dir));
        }
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
