package dev.mxd.fuzz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs Jazzer fuzz targets, each in its own JVM (libFuzzer runs one target per process and ends
 * it with exit status 0 when the time is up, non-zero with a crash file on a finding), for a
 * bounded number of seconds. FuzzTargetsTest runs every target briefly; bench/fuzz.sh longer.
 */
public final class FuzzCampaign {

    /** Every target: SMTP command line, mailbox, DATA text, DNS answers → MX plan, zone file, configuration. */
    public static final List<Class<?>> TARGETS = List.of(SmtpCommandFuzzer.class, MailboxFuzzer.class, DataDecoderFuzzer.class,
            MxPlanFuzzer.class, ZoneFileFuzzer.class, ConfigFuzzer.class, MimeDowngradeFuzzer.class);

    private static final Pattern DONE = Pattern.compile("Done (\\d+) runs in (\\d+) second");

    /**
     * @param exitCode 0 when the time ran out without a finding
     * @param runs     inputs tried
     * @param output   Jazzer's output (the finding's stack trace and crash file name when there is one)
     */
    public record Result(Class<?> target, int exitCode, long runs, int seconds, String output) {
        public boolean clean() {
            return exitCode == 0;
        }
    }

    private FuzzCampaign() {}

    /** Fuzzes one target for {@code seconds}; findings (crash-* files) are written to {@code workDir}. */
    public static Result run(Class<?> target, int seconds, Path workDir) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = workDir.resolve(target.getSimpleName() + ".log");
        Process p = new ProcessBuilder(java, "-Xmx512m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), "com.code_intelligence.jazzer.Jazzer",
                "--target_class=" + target.getName(), "--instrumentation_includes=dev.mxd.**",
                "-max_total_time=" + seconds, "-rss_limit_mb=3072", "-timeout=30",
                "-artifact_prefix=" + workDir + "/" + target.getSimpleName() + "-")
                .directory(workDir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(seconds + 120L, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        Matcher m = DONE.matcher(out);
        long runs = m.find() ? Long.parseLong(m.group(1)) : -1;
        return new Result(target, p.isAlive() ? -1 : p.exitValue(), runs, seconds, out);
    }

    /** bench/fuzz.sh: {@code FuzzCampaign [seconds per target] [work dir]}; exit status 1 on any finding. */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        Path dir = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("mxd-fuzz");
        Files.createDirectories(dir);
        boolean clean = true;
        System.out.println("| target | seconds | inputs tried | result |\n| --- | ---: | ---: | --- |");
        for (Class<?> t : TARGETS) {
            Result r = run(t, seconds, dir);
            clean &= r.clean();
            System.out.printf("| %s | %d | %d | %s |%n", t.getSimpleName(), seconds, r.runs(),
                    r.clean() ? "no finding" : "FINDING, see " + dir.resolve(t.getSimpleName() + ".log"));
        }
        System.exit(clean ? 0 : 1);
    }
}
