package dev.mxd.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Reads the YAML configuration strictly: an unknown key, a value of the wrong type or an
 * invalid address is an error naming the file and line, never silently ignored, because a
 * mistyped key in a mail server's config can turn it into an open relay or lose mail.
 */
public final class ConfigLoader {

    private static final ObjectMapper MAPPER = mapper();

    private ConfigLoader() {}

    public static MxdConfig load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, 0, "no such file; give the path of an existing YAML configuration", e);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ConfigException(file, firstLineNotUtf8(file), "not UTF-8 (a Latin-1 accent in a comment, say); save the file"
                    + " as UTF-8 (iconv -f latin1 -t utf-8)", e);
        } catch (IOException e) {
            throw new ConfigException(file, 0, "cannot read the file: " + e.getMessage(), e);
        }
        return parse(text, file);
    }

    /** The line (1-based) of the first octet sequence in {@code file} that is not UTF-8; 0 when it cannot be read. */
    private static int firstLineNotUtf8(Path file) {
        try {
            byte[] b = Files.readAllBytes(file);
            java.nio.charset.CharsetDecoder d = java.nio.charset.StandardCharsets.UTF_8.newDecoder();
            int line = 1;
            int start = 0;
            for (int i = 0; i <= b.length; i++) {
                if (i == b.length || b[i] == '\n') {
                    try {
                        d.reset().decode(java.nio.ByteBuffer.wrap(b, start, i - start));
                    } catch (java.nio.charset.CharacterCodingException bad) {
                        return line;
                    }
                    line++;
                    start = i + 1;
                }
            }
        } catch (IOException unreadable) {
            // no line to name
        }
        return 0;
    }

    /** Parses YAML text; {@code file} is only used to name the source in error messages. */
    public static MxdConfig parse(String yaml, Path file) throws ConfigException {
        MxdConfig config;
        if (yaml.isBlank()) {
            throw new ConfigException(file, 1, "the file is empty; see docs/config.md for an example", null);
        }
        checkSyntaxAndDuplicates(yaml, file);
        try {
            config = MAPPER.readValue(yaml, MxdConfig.class);
        } catch (JsonProcessingException e) {
            throw translate(file, yaml, e);
        }
        if (config == null) {
            throw new ConfigException(file, 1, "the file is empty; see docs/config.md for an example", null);
        }
        return config;
    }

    /**
     * Keys (dotted paths) whose empty value would be taken for their default, which differs from none, with what that
     * default is: {@code trusted-networks:} with every entry commented out would let loopback relay, where {@code []}
     * lets nobody.
     */
    private static final Map<String, String> NO_EMPTY_VALUE = Map.of(
            "recipient-delimiter", "",
            "hostname", "localhost",
            "data-dir", "./mxd-data, a new empty spool",
            "trusted-networks", "127.0.0.0/8 and ::1 may relay; [] is nobody",
            "admin-token-file", "<data-dir>/admin.token",
            "listen.smtp", "127.0.0.1:2525",
            "log.file", "the log on standard output");

    /**
     * Top-level sections whose absence turns a protection off or means a default that differs from what was meant:
     * written with nothing under them (their keys commented out), they are refused, with what they would have meant.
     */
    private static final Map<String, String> NO_EMPTY_SECTION = Map.of(
            "tls", "turn STARTTLS off",
            "filters", "turn virus and spam filtering off",
            "listen", "listen on 127.0.0.1:2525 only, with no admin listener",
            "log", "log to standard output");

    /** Whether line {@code line} (1-based) writes an empty value in quotes ({@code ""} or {@code ''}), not an empty block (| or >). */
    private static boolean quotedEmpty(String yaml, int line) {
        String[] lines = yaml.split("\n", -1);
        if (line < 1 || line > lines.length) {
            return false;
        }
        String text = lines[line - 1];
        int colon = text.indexOf(':');
        String value = colon < 0 ? "" : text.substring(colon + 1).strip();
        return value.startsWith("\"\"") || value.startsWith("''");
    }

    /**
     * Reads the YAML once as tokens before it is mapped: a syntax error becomes file, line, column
     * and a sentence; a key given twice in one mapping (which YAML parsers silently resolve to the
     * last one, so {@code hostname:} written twice would quietly change the host's name) is an
     * error naming both lines.
     */
    private static void checkSyntaxAndDuplicates(String yaml, Path file) throws ConfigException {
        java.util.ArrayDeque<Map<String, Integer>> open = new java.util.ArrayDeque<>();
        try (JsonParser p = MAPPER.getFactory().createParser(yaml)) {
            String valueNeeded = null; // a key of NO_EMPTY_VALUE whose value comes next, with its line
            String sectionNeeded = null; // a key of NO_EMPTY_SECTION whose value comes next, with its line
            int valueLine = 0;
            boolean rootSeen = false; // a document's value read: another one with keys would be read past in silence
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (p instanceof com.fasterxml.jackson.dataformat.yaml.YAMLParser y && y.isCurrentAlias()) {
                    // the YAML reader under the configuration does not resolve aliases: *name would be read as the text
                    // "name", a value no one wrote (a typo'd or undefined one passed --check in silence)
                    @SuppressWarnings("deprecation") // YAMLParser reports lines through getTokenLocation
                    int line = p.getTokenLocation().getLineNr();
                    throw new ConfigException(file, line, "an alias (*" + p.getText() + ") is not read in mxd's configuration (it"
                            + " would be the text '" + p.getText() + "'); write the value out here", null);
                }
                if (open.isEmpty()) { // a document's value; an empty document is a null one
                    if (rootSeen && t != JsonToken.VALUE_NULL) { // keys in a later document (after an empty first one too)
                        @SuppressWarnings("deprecation") // YAMLParser reports lines through getTokenLocation
                        int line = p.getTokenLocation().getLineNr();
                        throw new ConfigException(file, line, "a second YAML document (after a '---' line) would not be read: the"
                                + " configuration is one document; move its keys into the first and remove the '---'", null);
                    }
                    rootSeen = true;
                }
                boolean delimiter = "recipient-delimiter".equals(valueNeeded);
                if (valueNeeded != null && (t == JsonToken.VALUE_NULL
                        || t == JsonToken.VALUE_STRING && p.getText().isBlank() && (!delimiter || !quotedEmpty(yaml, valueLine)))) {
                    throw new ConfigException(file, valueLine, valueNeeded + ": no value (in YAML an empty value, ~ and an unquoted #"
                            + " are none, which would quietly mean the default" + (delimiter ? "); write it in quotes, such as \"+\", or \"\""
                            + " for none" : ": " + NO_EMPTY_VALUE.get(valueNeeded) + "); write one, or remove the line for the default"), null);
                }
                if (sectionNeeded != null && (t == JsonToken.VALUE_NULL || t == JsonToken.VALUE_STRING && p.getText().isBlank())) {
                    throw new ConfigException(file, valueLine, sectionNeeded + ": an empty section (its keys commented out?) would"
                            + " quietly " + NO_EMPTY_SECTION.get(sectionNeeded) + "; write its keys under it, or remove the '"
                            + sectionNeeded + ":' line for that", null);
                }
                valueNeeded = null;
                sectionNeeded = null;
                switch (t) {
                    case VALUE_NUMBER_INT -> {
                        // YAML 1.1 reads 010 as octal 8 and 0x20 as 32: max-recipients: 010 allowed 8, max-message-size: 010
                        // refused every message; Postfix's main.cf, Exim and YAML 1.2 read 010 as ten
                        String written = p.getText();
                        if (written.matches("[-+]?0[0-9_]+|[-+]?0[xXoObB].*")) {
                            @SuppressWarnings("deprecation") // YAMLParser reports lines through getTokenLocation
                            int line = p.getTokenLocation().getLineNr();
                            String dotted = String.join(".", contextPath(p.getParsingContext())).replace(".[", "[");
                            throw new ConfigException(file, line, (dotted.isEmpty() ? "" : dotted + ": ") + written
                                    + " is a number YAML reads in another base (" + p.getBigIntegerValue() + "), not as written;"
                                    + " write it without the leading 0 (" + written.replaceFirst("^([-+]?)0+(?=[0-9])", "$1")
                                    + "), or in quotes if it is text", null);
                        }
                    }
                    case START_OBJECT -> open.push(new java.util.HashMap<>());
                    case START_ARRAY -> open.push(Map.of()); // a list has no keys; keeps the stack in step
                    case END_OBJECT, END_ARRAY -> open.pop();
                    case FIELD_NAME -> {
                        @SuppressWarnings("deprecation") // YAMLParser reports lines through getTokenLocation
                        int line = p.getTokenLocation().getLineNr();
                        String dotted = String.join(".", contextPath(p.getParsingContext()));
                        if (NO_EMPTY_VALUE.containsKey(dotted)) {
                            valueNeeded = dotted;
                            valueLine = line;
                        }
                        if (open.size() == 1 && NO_EMPTY_SECTION.containsKey(p.currentName())) {
                            sectionNeeded = p.currentName();
                            valueLine = line;
                        }
                        Integer first = open.peek().putIfAbsent(p.currentName(), line);
                        if (first != null) {
                            List<String> path = contextPath(p.getParsingContext());
                            String in = path.size() > 1 ? " in " + String.join(".", path.subList(0, path.size() - 1)).replace(".[", "[") : "";
                            throw new ConfigException(file, line, "duplicate key '" + p.currentName() + "'" + in + ": first on line "
                                    + first + ", again on line " + line + "; keep one of them", null);
                        }
                    }
                    default -> { }
                }
            }
        } catch (JsonProcessingException e) {
            throw YamlSyntax.describe(file, e);
        } catch (IOException e) {
            throw new ConfigException(file, 0, "cannot read the YAML: " + e.getMessage(), e);
        }
    }

    private static ConfigException translate(Path file, String yaml, JsonProcessingException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ConfigProblem p) {
                return new ConfigException(file, lineOfNearestKey(yaml, p.keyPath()), p.getMessage(), e);
            }
        }
        JsonLocation loc = e.getLocation();
        int line = loc == null ? 0 : loc.getLineNr();
        if (e instanceof UnrecognizedPropertyException u) {
            // Jackson reports where it finished skipping the value; the operator wants the key's own line.
            line = lineOfKey(yaml, steps(u.getPath())).orElse(line);
        }
        String where = e instanceof JsonMappingException m ? keyPath(m.getPath()) : "";
        String prefix = where.isEmpty() ? "" : where + ": ";
        String problem;
        if (e instanceof UnrecognizedPropertyException u) {
            problem = "unknown key '" + u.getPropertyName() + "'" + (where.contains(".") ? " in " + where.substring(0, where.lastIndexOf('.')) : "")
                    + "; known keys here: " + known(u.getReferringClass(), u.getKnownPropertyIds());
            prefix = "";
        } else if (e instanceof ValueInstantiationException v && v.getCause() != null) {
            problem = rootMessage(v.getCause());
        } else if (e instanceof InvalidFormatException f) {
            problem = "'" + f.getValue() + "' is not " + expected(f.getTargetType());
        } else if (e instanceof MismatchedInputException mi && mi.getTargetType() != null
                && mi.getOriginalMessage().matches("(?s)Cannot (deserialize|coerce|construct).*")) {
            problem = "wrong type: expected " + expected(mi.getTargetType());
        } else if (e instanceof JsonMappingException && e.getCause() instanceof IllegalArgumentException iae) {
            problem = iae.getMessage();
        } else {
            problem = e.getOriginalMessage();
        }
        if (e instanceof ValueInstantiationException || e.getCause() instanceof IllegalArgumentException) {
            // A section's own check (a range, two keys that disagree) fails where Jackson finished reading the section,
            // which is its last line or past the end of the file: the line of the key the message names, else the
            // section's own key.
            List<String> path = e instanceof JsonMappingException m ? steps(m.getPath()) : List.of();
            boolean item = !path.isEmpty() && path.get(path.size() - 1).startsWith("["); // a list item's own line is right
            line = lineOfNamedKey(yaml, problem).orElse(path.isEmpty() || item ? line : lineOfNearestKey(yaml, path));
        }
        return new ConfigException(file, line, prefix + problem, e);
    }

    /** A key path such as delivery.port or timeouts.command at the start of a message. */
    private static final java.util.regex.Pattern NAMED_KEY = java.util.regex.Pattern.compile("([a-z][a-z0-9-]*(?:\\.[a-z][a-z0-9-]*)*)(?=[ :])");

    /** The line of the key whose dotted path a message starts with, when that key is written in the file. */
    private static java.util.OptionalInt lineOfNamedKey(String yaml, String message) {
        java.util.regex.Matcher m = NAMED_KEY.matcher(message == null ? "" : message);
        return m.lookingAt() ? lineOfKey(yaml, List.of(m.group(1).split("\\."))) : java.util.OptionalInt.empty();
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getMessage() == null) {
            c = c.getCause();
        }
        return c.getMessage();
    }

    /**
     * The keys a mapping accepts, as written in the file: the {@code @JsonProperty} names of its
     * {@code @JsonCreator}. Jackson's own list also holds the Java names of the record's components
     * ({@code smtpListeners}), which the file may not use.
     */
    static String known(Class<?> type, Collection<Object> ids) {
        java.util.SortedSet<String> names = new java.util.TreeSet<>(creatorKeys(type));
        if (names.isEmpty() && ids != null) {
            // No creator to read: Jackson's list, less anything that is not written the file's way.
            ids.stream().map(String::valueOf).filter(n -> n.matches("[a-z0-9]+(-[a-z0-9]+)*")).forEach(names::add);
        }
        return names.isEmpty() ? "(none)" : String.join(", ", names);
    }

    /** The {@code @JsonProperty} names of {@code type}'s {@code @JsonCreator} factory or constructor, if it has one. */
    static List<String> creatorKeys(Class<?> type) {
        if (type == null) {
            return List.of();
        }
        List<java.lang.reflect.Executable> candidates = new java.util.ArrayList<>(List.of(type.getDeclaredMethods()));
        candidates.addAll(List.of(type.getDeclaredConstructors()));
        for (java.lang.reflect.Executable x : candidates) {
            if (x.isAnnotationPresent(com.fasterxml.jackson.annotation.JsonCreator.class)) {
                List<String> keys = new java.util.ArrayList<>();
                for (java.lang.reflect.Parameter param : x.getParameters()) {
                    com.fasterxml.jackson.annotation.JsonProperty jp = param.getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
                    if (jp != null && !jp.value().isEmpty()) {
                        keys.add(jp.value());
                    }
                }
                return keys;
            }
        }
        return List.of();
    }

    private static List<String> steps(List<JsonMappingException.Reference> path) {
        return path.stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : r.getIndex() >= 0 ? "[" + r.getIndex() + "]" : "?")
                .toList();
    }

    private static String keyPath(List<JsonMappingException.Reference> path) {
        return String.join(".", steps(path)).replace(".[", "[");
    }

    /** The line of the key at {@code path}, or of the nearest enclosing key that is written in the file. */
    private static int lineOfNearestKey(String yaml, List<String> path) {
        for (int n = path.size(); n > 0; n--) {
            java.util.OptionalInt line = lineOfKey(yaml, path.subList(0, n));
            if (line.isPresent()) {
                return line.getAsInt();
            }
        }
        return 0;
    }

    /**
     * The line of {@code file} where the key at {@code path} (tls, private-key) is written, for an error found after the
     * file was read (a certificate and key that do not belong together); empty when the file cannot be read now.
     */
    public static java.util.OptionalInt lineOf(Path file, String... path) {
        try {
            return lineOfKey(Files.readString(file), List.of(path));
        } catch (IOException | RuntimeException e) {
            return java.util.OptionalInt.empty();
        }
    }

    /**
     * Where in {@code file} a TLS file the server could not use is named: {@code FILE:LINE} of tls.certificate or
     * tls.private-key (the one {@code refused} names, else the tls key), or {@code FILE} alone.
     */
    public static String whereTls(Path file, Tls tls, Path refused) {
        String key = refused.equals(tls.certificate()) ? "certificate" : refused.equals(tls.privateKey()) ? "private-key" : null;
        java.util.OptionalInt line = key == null ? lineOf(file, "tls") : lineOf(file, "tls", key);
        return file + (line.isPresent() ? ":" + line.getAsInt() : "");
    }

    /** The line where the key at {@code path} is written, found by reading the YAML tokens once more. */
    private static java.util.OptionalInt lineOfKey(String yaml, List<String> path) {
        try (JsonParser p = MAPPER.getFactory().createParser(yaml)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.FIELD_NAME && contextPath(p.getParsingContext()).equals(path)) {
                    @SuppressWarnings("deprecation") // YAMLParser reports lines through getTokenLocation
                    int line = p.getTokenLocation().getLineNr();
                    return java.util.OptionalInt.of(line);
                }
            }
        } catch (IOException e) {
            // fall back to Jackson's own location
        }
        return java.util.OptionalInt.empty();
    }

    private static List<String> contextPath(com.fasterxml.jackson.core.JsonStreamContext ctx) {
        java.util.ArrayDeque<String> out = new java.util.ArrayDeque<>();
        for (com.fasterxml.jackson.core.JsonStreamContext c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
            out.addFirst(c.inArray() ? "[" + c.getCurrentIndex() + "]" : String.valueOf(c.getCurrentName()));
        }
        return List.copyOf(out);
    }

    private static String expected(Class<?> type) {
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "a whole number";
        }
        if (type == String.class) {
            return "a text value";
        }
        if (List.class.isAssignableFrom(type) || Collection.class.isAssignableFrom(type)) {
            return "a list (- item, or [a, b])";
        }
        if (type == Cidr.class) {
            return "a network such as \"192.0.2.0/24\" or \"::1/128\" (quoted in a [ ] list)";
        }
        if (type == HostPort.class) {
            return "an address and port such as \"127.0.0.1:2525\" or \"[::1]:25\"";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "a mapping (key: value lines, indented under their key)";
        }
        if (type == Duration.class) {
            return "a duration like 30s, 5m, 4h or 5d";
        }
        if (type == DataSize.class) {
            return "a size like 25MB";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        return "a " + type.getSimpleName();
    }

    /**
     * The {@code filters:} section and each domain's {@code filter:} are read here in the same pass,
     * by {@link FiltersConfig#fromMap} and {@link DomainFilter#fromMap}: they word their mistakes
     * as the filter documentation does ("filters.clamd: unknown key ..."), and each mistake carries
     * its key path below the section, which is put under the section's own keys to name the line.
     */
    private static SimpleModule filterSections() {
        SimpleModule m = new SimpleModule("mxd-filters");
        m.addDeserializer(FiltersConfig.class, new JsonDeserializer<>() {
            @Override
            public FiltersConfig deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                List<String> where = keysOf(p);
                Map<?, ?> map = section(p, ctxt, where, "filters");
                try {
                    return FiltersConfig.fromMap(map);
                } catch (IllegalArgumentException e) {
                    throw below(where, e);
                }
            }
        });
        m.addDeserializer(DomainFilter.class, new JsonDeserializer<>() {
            @Override
            public DomainFilter deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                List<String> where = keysOf(p);
                String domain = where.size() >= 2 ? MxdConfig.domainKey(where.get(where.size() - 2)) : "?";
                Map<?, ?> map = section(p, ctxt, where, "domains." + domain + ".filter");
                try {
                    return DomainFilter.fromMap(domain, map);
                } catch (IllegalArgumentException e) {
                    throw below(where, e);
                }
            }
        });
        return m;
    }

    /** A filter section's value as a mapping; anything else is an error at its key. */
    private static Map<?, ?> section(JsonParser p, DeserializationContext ctxt, List<String> where, String named) throws IOException {
        Object value = ctxt.readValue(p, Object.class); // not p.readValueAs: that reads as a whole document, and finds the rest trailing
        if (!(value instanceof Map<?, ?> map)) {
            throw new ConfigProblem(where, named + ": expected a mapping (key: value lines), not '" + value + "'", null);
        }
        return map;
    }

    /** A mistake in the section at {@code where}: at its own key path below it, or at the section's key. */
    private static ConfigProblem below(List<String> where, IllegalArgumentException e) {
        List<String> path = new java.util.ArrayList<>(where);
        if (e instanceof ConfigProblem p) {
            path.addAll(p.keyPath());
        }
        return new ConfigProblem(path, e.getMessage(), e);
    }

    /** The keys leading to the value the parser is at, as written in the file. */
    private static List<String> keysOf(JsonParser p) {
        com.fasterxml.jackson.core.JsonStreamContext ctx = p.getParsingContext();
        if (p.currentToken() == JsonToken.START_OBJECT || p.currentToken() == JsonToken.START_ARRAY) {
            ctx = ctx.getParent(); // the value's own context has no name yet
        }
        return contextPath(ctx);
    }

    private static ObjectMapper mapper() {
        SimpleModule durations = new SimpleModule("mxd-durations");
        durations.addDeserializer(Duration.class, new JsonDeserializer<>() {
            @Override
            public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                if (p.currentToken() != JsonToken.VALUE_STRING && p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
                    return (Duration) ctxt.handleUnexpectedToken(Duration.class, p);
                }
                try {
                    return Durations.parse(p.getText());
                } catch (IllegalArgumentException e) {
                    throw JsonMappingException.from(p, e.getMessage(), e);
                }
            }
        });
        JsonMapper m = JsonMapper.builder(new YAMLFactory())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT) // "max-recipients: 100.5" is an error, not 100
                .addModule(durations)
                .addModule(filterSections())
                .build();
        // "max-recipients: abc" must be an error, and so must a number where a list of text is expected.
        m.coercionConfigFor(LogicalType.Integer).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
        m.coercionConfigFor(LogicalType.Textual).setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
        return m;
    }
}
