package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 2: which JDK the real {@code ./mxd} launcher runs and when it makes its AOT cache. The launcher runs
 * in a copy of the project layout with a built jar; the JDKs are stand-in scripts in a stand-in {@code /usr/lib/jvm}
 * ({@code MXD_JVM_DIR}), each with a {@code release} file, that print how they were called (and, when asked to,
 * write the cache file as a JDK 25 does at the end of a training run).
 */
class LauncherJdkChoiceTest {

    /** What the launcher adds unless MXD_JAVA_OPTS says otherwise: the collector, its young generation, less inlining. */
    private static final String INLINING = "-XX:FreqInlineSize=100 -XX:InlineSmallCode=1000";
    private static final String DEFAULTS = "-XX:+UseSerialGC -Xmn16m " + INLINING;

    @Test
    void withOnlyJdk17InstalledTheLauncherRunsJavaOnThePathAndMakesNoCache(@TempDir Path dir) throws Exception {
        Path jvms = Files.createDirectories(dir.resolve("jvm"));
        jdk(jvms.resolve("java-17-openjdk-amd64"), "17.0.15+6-Debian-1deb12u1", false);
        Files.createDirectories(jvms.resolve("no-release/bin"));
        layout(dir);

        Run r = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString()), "--version");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("path java ran: " + DEFAULTS + " -jar " + dir.resolve("target/mxd.jar") + " --version\n");
        assertThat(r.err()).isEmpty();
        assertThat(dir.resolve("target/mxd.aot")).doesNotExist();
    }

    @Test
    void aHeapSizeOrInliningInMxdJavaOptsReplacesTheLaunchersDefault(@TempDir Path dir) throws Exception {
        Path jvms = Files.createDirectories(dir.resolve("jvm"));
        jdk(jvms.resolve("java-17-openjdk-amd64"), "17.0.15+6-Debian-1deb12u1", false);
        layout(dir);
        String jar = dir.resolve("target/mxd.jar").toString();

        Run sized = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString(), "MXD_JAVA_OPTS", "-Xmx64m"), "--version");
        assertThat(sized.status()).as(sized.err()).isZero();
        assertThat(sized.out()).isEqualTo("path java ran: -XX:+UseSerialGC " + INLINING + " -Xmx64m -jar " + jar + " --version\n");

        Run young = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString(), "MXD_JAVA_OPTS", "-Xmn64m"), "--version");
        assertThat(young.out()).isEqualTo("path java ran: -XX:+UseSerialGC " + INLINING + " -Xmn64m -jar " + jar + " --version\n");

        Run inlining = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString(), "MXD_JAVA_OPTS", "-XX:FreqInlineSize=325"), "--version");
        assertThat(inlining.out()).as("the compiler's own inlining when asked for")
                .isEqualTo("path java ran: -XX:+UseSerialGC -Xmn16m -XX:FreqInlineSize=325 -jar " + jar + " --version\n");
    }

    @Test
    void theNewestJdk25IsPickedAndItsCacheIsMadeOncePerBuildAndUsed(@TempDir Path dir) throws Exception {
        Path jvms = Files.createDirectories(dir.resolve("jvm"));
        jdk(jvms.resolve("java-17-openjdk-amd64"), "17.0.15+6-Debian-1deb12u1", true);
        jdk(jvms.resolve("jdk-25.0.1"), "25.0.1+8-LTS", true);
        jdk(jvms.resolve("jdk-25.0.3"), "25.0.3+9-LTS", true);
        layout(dir);
        Path jar = dir.resolve("target/mxd.jar");
        Path aot = dir.resolve("target/mxd.aot");

        Run first = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString()), "--version");
        assertThat(first.status()).as(first.err()).isZero();
        assertThat(first.err()).contains("mxd: making the AOT cache " + aot + " with JDK 25.0.3+9-LTS")
                .containsPattern("mxd: made the AOT cache in \\d+ s");
        assertThat(Files.readString(dir.resolve("target/mxd.aot.log")))
                .contains("25.0.3+9-LTS ran: " + DEFAULTS + " -XX:AOTCacheOutput=" + aot + ".tmp -jar " + jar
                        + " demo --train --messages 2000");
        assertThat(first.out()).isEqualTo("25.0.3+9-LTS ran: " + DEFAULTS + " -XX:AOTCache=" + aot
                + " -Xlog:aot=off -Xlog:cds=off -jar " + jar + " --version\n");
        assertThat(aot).exists();

        Run second = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString(), "MXD_JAVA_OPTS", "-Xmx1g"), "--version");
        assertThat(second.err()).as("made once per build, nothing said on the normal path").isEmpty();
        assertThat(second.out()).contains("-XX:AOTCache=" + aot).contains("-Xmx1g -jar " + jar);

        Run other = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString(), "MXD_JAVA", jvms.resolve("jdk-25.0.1/bin/java").toString()),
                "--version");
        assertThat(other.err()).as("another JDK remakes it").contains("with JDK 25.0.1+8-LTS");
        assertThat(other.out()).startsWith("25.0.1+8-LTS ran: ").contains("-XX:AOTCache=" + aot);

        Run off = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString(), "MXD_AOT", "off"), "--version");
        assertThat(off.err()).isEmpty();
        assertThat(off.out()).isEqualTo("25.0.3+9-LTS ran: " + DEFAULTS + " -jar " + jar + " --version\n");

        Run on17 = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString(), "MXD_JAVA",
                jvms.resolve("java-17-openjdk-amd64/bin/java").toString()), "--version");
        assertThat(on17.err()).isEmpty();
        assertThat(on17.out()).isEqualTo("17.0.15+6-Debian-1deb12u1 ran: " + DEFAULTS + " -jar " + jar + " --version\n");
    }

    @Test
    void aFailedTrainingWarnsOnceAndMxdRunsWithoutTheCache(@TempDir Path dir) throws Exception {
        Path jvms = Files.createDirectories(dir.resolve("jvm"));
        jdk(jvms.resolve("jdk-25"), "25.0.3+9-LTS", false);
        layout(dir);
        Path jar = dir.resolve("target/mxd.jar");

        Run first = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString()), "--version");
        assertThat(first.status()).isZero();
        assertThat(first.err()).contains("mxd: warning: the training run for the AOT cache failed (status 1; "
                + dir.resolve("target/mxd.aot.log") + " says why); running without the cache");
        assertThat(first.out()).isEqualTo("25.0.3+9-LTS ran: " + DEFAULTS + " -jar " + jar + " --version\n");

        Run second = mxd(dir, Map.of("MXD_JVM_DIR", jvms.toString()), "--version");
        assertThat(second.err()).as("not tried again until the next build").isEmpty();
        assertThat(second.out()).isEqualTo(first.out());
    }

    /** A stand-in JDK: prints its version and arguments; a training run writes the cache file, or fails when told to. */
    private static void jdk(Path home, String version, boolean trainingWorks) throws IOException {
        Files.createDirectories(home.resolve("bin"));
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"" + version.replaceAll("[+-].*", "") + "\"\n"
                + "JAVA_RUNTIME_VERSION=\"" + version + "\"\n");
        executable(home.resolve("bin/java"), """
                #!/bin/sh
                echo "%s ran: $*"
                for a in "$@"; do
                  case "$a" in -XX:AOTCacheOutput=*) %s ;; esac
                done
                exit 0
                """.formatted(version, trainingWorks ? "echo cache > \"${a#*=}\"" : "exit 1"));
    }

    private static void layout(Path dir) throws IOException {
        Files.copy(Path.of("mxd"), dir.resolve("mxd"), StandardCopyOption.COPY_ATTRIBUTES);
        Path pom = Files.writeString(dir.resolve("pom.xml"), "<project/>\n");
        Path src = Files.createDirectories(dir.resolve("src/main"));
        FileTime old = FileTime.from(Instant.now().minusSeconds(3600));
        Files.setLastModifiedTime(pom, old);
        Files.setLastModifiedTime(src, old);
        Files.createDirectories(dir.resolve("target"));
        Files.writeString(dir.resolve("target/mxd.jar"), "jar\n");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        executable(bin.resolve("java"), "#!/bin/sh\necho \"path java ran: $*\"\n");
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private record Run(int status, String out, String err) {}

    private static Run mxd(Path dir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", dir.resolve("mxd").toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("MXD_"));
        pb.environment().put("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"));
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the launcher finished").isTrue();
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
