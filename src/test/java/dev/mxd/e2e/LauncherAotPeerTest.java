package dev.mxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mxd.testing.PeerTest;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 2: the real {@code ./mxd} launcher picks a JDK 25 from /usr/lib/jvm, makes its AOT cache from the
 * training run once and starts with it; pointed at JDK 17 with {@code MXD_JAVA} it runs as before and makes none.
 * The launcher runs in a copy of the project layout whose {@code target/mxd.jar} is made from this build's classes
 * (its dependencies beside it in {@code target/lib}, named by the manifest's Class-Path), newer than the stand-in
 * sources, so no Maven build runs inside the test; the training is kept small ({@code MXD_AOT_MESSAGES}).
 */
@PeerTest
class LauncherAotPeerTest {

    private static final Path JVMS = Path.of("/usr/lib/jvm");

    @Test
    void onJdk25TheLauncherMakesTheCacheOnceAndStartsWithIt(@TempDir Path dir) throws Exception {
        assumeTrue(jdk(25).isPresent(), "no JDK 25 or later under /usr/lib/jvm");
        layout(dir);

        Run first = mxd(dir, Map.of(), "--version");
        assertThat(first.status()).as(first.err()).isZero();
        assertThat(first.out()).startsWith("mxd ");
        assertThat(first.err()).contains("mxd: making the AOT cache " + dir.resolve("target/mxd.aot"))
                .containsPattern("mxd: made the AOT cache in \\d+ s");
        assertThat(dir.resolve("target/mxd.aot")).isNotEmptyFile();
        assertThat(Files.readString(dir.resolve("target/mxd.aot.jdk"))).startsWith("25").contains(JVMS.toString());
        assertThat(Files.readString(dir.resolve("target/mxd.aot.log"))).containsPattern("mxd demo --train: (\\d+) messages sent, \\1 accepted, \\1 delivered");

        // AOTMode=on makes the JVM fail when it cannot map the cache; -Xlog:aot says which file it opened.
        Run second = mxd(dir, Map.of("MXD_JAVA_OPTS", "-XX:AOTMode=on -Xlog:aot"), "--version");
        assertThat(second.status()).as(second.out() + second.err()).isZero();
        assertThat(second.out()).contains("Opened AOT cache " + dir.resolve("target/mxd.aot")).contains("mxd 0.1.0");
        assertThat(second.err()).as("made once per build").doesNotContain("making the AOT cache");

        Run quiet = mxd(dir, Map.of(), "lookup", "--help");
        assertThat(quiet.status()).isZero();
        assertThat(quiet.err()).as("nothing on stderr on the normal path").isEmpty();

        Run off = mxd(dir, Map.of("MXD_AOT", "off", "MXD_JAVA_OPTS", "-Xlog:aot"), "--version");
        assertThat(off.status()).isZero();
        assertThat(off.out()).doesNotContain("mxd.aot");
    }

    @Test
    void withMxdJavaOnJdk17ItRunsAndMakesNoCache(@TempDir Path dir) throws Exception {
        Optional<Path> jdk17 = Optional.of(JVMS.resolve("java-17-openjdk-amd64/bin/java")).filter(Files::isExecutable);
        assumeTrue(jdk17.isPresent(), "no Debian JDK 17");
        layout(dir);

        Run r = mxd(dir, Map.of("MXD_JAVA", jdk17.get().toString()), "--version");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("mxd 0.1.0\n");
        assertThat(r.err()).isEmpty();
        try (Stream<Path> files = Files.list(dir.resolve("target"))) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("mxd.aot"));
        }
    }

    /** The newest JDK of at least {@code major} under /usr/lib/jvm, as the launcher would pick it. */
    private static Optional<Path> jdk(int major) throws IOException {
        if (!Files.isDirectory(JVMS)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(JVMS)) {
            return dirs.filter(d -> Files.isExecutable(d.resolve("bin/java"))).filter(d -> majorOf(d) >= major)
                    .map(d -> d.resolve("bin/java")).findFirst();
        }
    }

    private static int majorOf(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=\"")) {
                    return Integer.parseInt(line.substring("JAVA_VERSION=\"".length()).split("[.\"]")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    /** The launcher, stand-in sources older than the jar, and a jar of this build's classes with its dependencies. */
    private static void layout(Path dir) throws IOException {
        Files.copy(Path.of("mxd"), dir.resolve("mxd"), StandardCopyOption.COPY_ATTRIBUTES);
        Path pom = Files.writeString(dir.resolve("pom.xml"), "<project/>\n");
        Path src = Files.createDirectories(dir.resolve("src/main"));
        FileTime old = FileTime.from(Instant.now().minusSeconds(3600));
        Files.setLastModifiedTime(pom, old);
        Files.setLastModifiedTime(src, old);
        Path lib = Files.createDirectories(dir.resolve("target/lib"));
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (entry.endsWith(".jar") && Files.isRegularFile(p) && !classPath.contains("lib/" + p.getFileName())) {
                Files.copy(p, lib.resolve(p.getFileName()));
                classPath.add("lib/" + p.getFileName());
            }
        }
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "dev.mxd.cli.Main");
        manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", classPath));
        Path classes = Path.of("target/classes");
        try (OutputStream f = Files.newOutputStream(dir.resolve("target/mxd.jar"));
             JarOutputStream jar = new JarOutputStream(f, manifest);
             Stream<Path> all = Files.walk(classes)) {
            for (Path p : all.filter(Files::isRegularFile).sorted(Comparator.naturalOrder()).toList()) {
                jar.putNextEntry(new JarEntry(classes.relativize(p).toString().replace(File.separatorChar, '/')));
                Files.copy(p, jar);
                jar.closeEntry();
            }
        }
    }

    private record Run(int status, String out, String err) {}

    private static Run mxd(Path dir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", dir.resolve("mxd").toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("MXD_JAVA");
        pb.environment().remove("MXD_JAVA_OPTS");
        pb.environment().remove("MXD_AOT");
        pb.environment().put("MXD_AOT_MESSAGES", "200");
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("the launcher finished").isTrue();
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
