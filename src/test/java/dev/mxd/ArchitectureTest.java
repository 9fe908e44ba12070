package dev.mxd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency rule of docs/architecture.md, checked against the sources: every package of
 * src/main may use only the packages its row in the doc's package table names (the "may use"
 * column), and the package graph has no cycle. The table is read from the doc, so the doc and this
 * test cannot disagree.
 *
 * <p>A use is an {@code import} (static ones included) or a fully qualified name in code
 * (comments and string literals are left out).
 */
class ArchitectureTest {

    static final Path SOURCES = Path.of("src/main/java");
    static final Path DOC = Path.of("docs/architecture.md");

    /** A qualified name: package segments in lower case, then a type. */
    static final Pattern QUALIFIED = Pattern.compile("\\bdev\\.mxd((?:\\.[a-z][a-z0-9_]*)*)\\.[A-Z]");
    static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    /** A package-table row: | `pkg` | what it holds | `a`, `b` | */
    static final Pattern ROW = Pattern.compile("^\\|\\s*`([\\w.]+)`\\s*\\|[^|]*\\|([^|]*)\\|");
    static final String SECTION = "## Packages";

    static Map<String, Set<String>> uses;
    static Map<String, Set<String>> rule;

    @BeforeAll
    static void read() throws IOException {
        uses = packageUses(SOURCES);
        rule = ruleTable(Files.readString(DOC, StandardCharsets.UTF_8));
    }

    @Test
    void everyPackageHasARowInTheRuleTable() {
        assertThat(rule.keySet())
                .as("docs/architecture.md's rule table lists each package of src/main/java")
                .containsAll(uses.keySet());
        assertThat(uses.keySet()).as("the rule table names only packages that exist").containsAll(rule.keySet());
    }

    @Test
    void packagesUseOnlyWhatTheRuleAllows() {
        List<String> violations = new ArrayList<>();
        uses.forEach((from, targets) -> {
            Set<String> allowed = rule.getOrDefault(from, Set.of());
            for (String to : targets) {
                if (!allowed.contains(to)) {
                    violations.add(from + " uses " + to + " (" + where(from, to) + ")");
                }
            }
        });
        assertThat(violations).as("uses the rule table in docs/architecture.md does not allow").isEmpty();
    }

    @Test
    void thePackageGraphHasNoCycle() {
        assertThat(cycles(uses)).as("package cycles").isEmpty();
    }

    @Test
    void theRuleTableItselfHasNoCycle() {
        assertThat(cycles(rule)).as("cycles the rule table would allow").isEmpty();
    }

    /**
     * RFC 3463 codes come from the one table ({@code EnhancedStatus}'s constants), so a code is
     * written once and a reader finds every use of it: no "4.4.1" or {@code new EnhancedStatus(…)}
     * anywhere else in src/main.
     */
    @Test
    void enhancedStatusCodesComeFromTheOneTable() throws IOException {
        Pattern bare = Pattern.compile("\"[245]\\.\\d{1,3}\\.\\d{1,3}\\b|new EnhancedStatus\\(");
        assertThat(linesMatching(bare, "EnhancedStatus.java"))
                .as("status codes written outside dev.mxd.smtp.EnhancedStatus's table").isEmpty();
    }

    /** Typed results all the way: no unchecked cast is needed anywhere in src/main. */
    @Test
    void noUncheckedCasts() throws IOException {
        assertThat(linesMatching(Pattern.compile("@SuppressWarnings\\(.*unchecked"), "")).isEmpty();
    }

    /** Lines of src/main (file:line: text) that match, leaving out the file named {@code except}. */
    static List<String> linesMatching(Pattern pattern, String except) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                if (f.getFileName().toString().equals(except)) {
                    continue;
                }
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                for (int i = 0; i < lines.size(); i++) {
                    if (pattern.matcher(lines.get(i)).find()) {
                        out.add(SOURCES.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).strip());
                    }
                }
            }
        }
        return out;
    }

    @Test
    void theCheckSeesAViolation() {
        Map<String, Set<String>> graph = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"));
        assertThat(cycles(graph)).containsExactly(List.of("a", "b", "c"));
        assertThat(ruleTable("## Other\n| `q` | x | `z` |\n\n## Packages\n\n| package | holds | may use |\n| --- | --- | --- |\n"
                + "| `x.y` | does `things` | `z`, `w` |\n| `z` | bottom | |\n\n## Next\n| `r` | x | `z` |\n"))
                .isEqualTo(Map.of("x.y", Set.of("z", "w"), "z", Set.of()));
        assertThat(targets("import dev.mxd.smtp.server.SmtpServer;\n// dev.mxd.queue.Spool\n"
                + "String s = \"dev.mxd.ops.X\"; var r = dev.mxd.mail.Route.class;"))
                .containsExactlyInAnyOrder("smtp.server", "mail");
    }

    // --- reading the sources and the doc ------------------------------------------------------

    static final Map<String, List<String>> EXAMPLES = new HashMap<>();

    static Map<String, Set<String>> packageUses(Path root) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                String text = Files.readString(f, StandardCharsets.UTF_8);
                Matcher m = PACKAGE.matcher(text);
                if (!m.find() || !m.group(1).startsWith("dev.mxd.")) {
                    continue;
                }
                String from = m.group(1).substring("dev.mxd.".length());
                Set<String> targets = graph.computeIfAbsent(from, k -> new TreeSet<>());
                for (String to : targets(text)) {
                    if (!to.equals(from)) {
                        targets.add(to);
                        EXAMPLES.computeIfAbsent(from + ">" + to, k -> new ArrayList<>()).add(f.getFileName().toString());
                    }
                }
            }
        }
        return graph;
    }

    /** The mxd packages a source file uses (relative to dev.mxd). */
    static Set<String> targets(String source) {
        String code = source.replaceAll("(?s)/\\*.*?\\*/", " ")
                .replaceAll("//[^\n]*", " ")
                .replaceAll("\"(?:\\\\.|[^\"\\\\\n])*\"", "\"\"");
        Set<String> out = new LinkedHashSet<>();
        Matcher m = QUALIFIED.matcher(code);
        while (m.find()) {
            String pkg = m.group(1);
            if (!pkg.isEmpty()) {
                out.add(pkg.substring(1));
            }
        }
        return out;
    }

    /** The rows of the table in the doc's "Packages" section: package → the packages it may use. */
    static Map<String, Set<String>> ruleTable(String doc) {
        Map<String, Set<String>> table = new TreeMap<>();
        int start = doc.indexOf("\n" + SECTION + "\n");
        if (start < 0) {
            throw new IllegalStateException("docs/architecture.md has no section '" + SECTION + "'");
        }
        int end = doc.indexOf("\n## ", start + SECTION.length() + 1);
        for (String line : doc.substring(start, end < 0 ? doc.length() : end).split("\n")) {
            Matcher m = ROW.matcher(line.strip());
            if (m.find()) {
                Set<String> allowed = new TreeSet<>();
                Matcher names = Pattern.compile("`([\\w.]+)`").matcher(m.group(2));
                while (names.find()) {
                    allowed.add(names.group(1));
                }
                table.put(m.group(1), allowed);
            }
        }
        return table;
    }

    static String where(String from, String to) {
        return String.join(", ", new TreeSet<>(EXAMPLES.getOrDefault(from + ">" + to, List.of())));
    }

    // --- cycles (Tarjan's strongly connected components) ---------------------------------------

    static List<List<String>> cycles(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new LinkedHashSet<>();
        List<List<String>> found = new ArrayList<>();
        int[] next = {0};
        for (String v : new TreeSet<>(graph.keySet())) {
            if (!index.containsKey(v)) {
                connect(v, graph, index, low, stack, onStack, found, next);
            }
        }
        return found;
    }

    private static void connect(String v, Map<String, Set<String>> graph, Map<String, Integer> index,
                                Map<String, Integer> low, Deque<String> stack, Set<String> onStack,
                                List<List<String>> found, int[] next) {
        index.put(v, next[0]);
        low.put(v, next[0]);
        next[0]++;
        stack.push(v);
        onStack.add(v);
        for (String w : new TreeSet<>(graph.getOrDefault(v, Set.of()))) {
            if (!index.containsKey(w)) {
                connect(w, graph, index, low, stack, onStack, found, next);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> component = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) {
                found.add(new ArrayList<>(new TreeSet<>(component)));
            }
        }
    }

    static {
        if (!Files.isDirectory(SOURCES)) {
            throw new UncheckedIOException(new IOException("run from the project root: " + SOURCES + " not found"));
        }
    }
}
