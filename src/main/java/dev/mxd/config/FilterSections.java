package dev.mxd.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.mxd.filter.DomainFilter;
import dev.mxd.filter.FiltersConfig;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code filters:} section and each domain's {@code filter:} (issue 7) with the filter
 * package's own readers, and turns their errors ("filters.clamd.address: ...") into
 * {@link ConfigProblem}s that carry the key path as written in the file, so the loader reports
 * the line of the key at fault like every other configuration error.
 */
final class FilterSections {

    private static final Pattern UNKNOWN_KEY = Pattern.compile(": unknown key '([^']*)'");

    private FilterSections() {}

    static SimpleModule module() {
        SimpleModule m = new SimpleModule("mxd-filters");
        m.addDeserializer(FiltersConfig.class, new JsonDeserializer<>() {
            @Override
            public FiltersConfig deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                List<String> where = keysOf(p);
                Map<?, ?> map = mapping(p, where, "filters");
                try {
                    return FiltersConfig.fromMap(map);
                } catch (IllegalArgumentException e) {
                    throw problem(where, "filters", e);
                }
            }
        });
        m.addDeserializer(DomainFilter.class, new JsonDeserializer<>() {
            @Override
            public DomainFilter deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                List<String> where = keysOf(p);
                String domain = where.size() >= 2 ? MxdConfig.domainKey(where.get(where.size() - 2)) : "?";
                String named = "domains." + domain + ".filter";
                Map<?, ?> map = mapping(p, where, named);
                try {
                    return DomainFilter.fromMap(domain, map);
                } catch (IllegalArgumentException e) {
                    throw problem(where, named, e);
                }
            }
        });
        return m;
    }

    /** The value as a mapping; anything else is an error at its key. */
    private static Map<?, ?> mapping(JsonParser p, List<String> where, String named) throws IOException {
        Object value = p.readValueAs(Object.class);
        if (!(value instanceof Map<?, ?> map)) {
            throw new ConfigProblem(where, named + ": expected a mapping (key: value lines), not '" + value + "'", null);
        }
        return map;
    }

    /**
     * The filter readers start each message with the dotted key path ({@code named} and the keys
     * below it); those keys have no dots, so they map back to the file's keys one by one.
     */
    static ConfigProblem problem(List<String> where, String named, IllegalArgumentException e) {
        String msg = e.getMessage();
        List<String> path = new ArrayList<>(where);
        if (msg.startsWith(named)) {
            int end = named.length();
            while (end < msg.length() && msg.charAt(end) != ':' && msg.charAt(end) != ' ') {
                end++;
            }
            for (String k : msg.substring(named.length(), end).split("\\.")) {
                if (!k.isEmpty()) {
                    path.add(k);
                }
            }
            Matcher unknown = UNKNOWN_KEY.matcher(msg);
            if (unknown.find() && unknown.start() == end) {
                path.add(unknown.group(1));
            }
        }
        return new ConfigProblem(path, msg, e);
    }

    /** The keys leading to the value the parser is at, as written in the file. */
    private static List<String> keysOf(JsonParser p) {
        JsonStreamContext ctx = p.getParsingContext();
        if (p.currentToken() == JsonToken.START_OBJECT || p.currentToken() == JsonToken.START_ARRAY) {
            ctx = ctx.getParent(); // the value's own context has no name yet
        }
        Deque<String> out = new ArrayDeque<>();
        for (JsonStreamContext c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
            out.addFirst(c.inArray() ? "[" + c.getCurrentIndex() + "]" : String.valueOf(c.getCurrentName()));
        }
        return List.copyOf(out);
    }
}
