package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * docs/config.md names every key the configuration reader accepts (issue 5 point 6). The keys
 * are found from the YAML creators themselves, so a key added to the code without a line in
 * the reference fails here rather than surprising an operator.
 */
class ConfigDocsTest {

    @Test
    void everyKeyTheReaderAcceptsIsInTheReference() throws Exception {
        Set<String> keys = new TreeSet<>();
        collect(MxdConfig.class, "", keys);
        assertThat(keys).as("keys found by reflection").contains("hostname", "listen.smtp", "domains.NAME.role",
                "delivery.retry.give-up", "delivery.host-retry.first", "limits.max-recipients", "dns.local-names");
        String doc = Files.readString(Path.of("docs/config.md"));
        assertThat(keys).allSatisfy(k -> assertThat(doc).as("docs/config.md documents `%s`", k).contains("`" + k + "`"));
    }

    /** Adds the dotted keys a type reads: its creator's properties, nested types walked into. */
    private static void collect(Class<?> type, String prefix, Set<String> keys) {
        Optional<Method> creator = creator(type);
        if (creator.isEmpty()) {
            keys.add(prefix.substring(0, prefix.length() - 1));
            return;
        }
        for (Parameter p : creator.get().getParameters()) {
            String key = prefix + p.getAnnotation(JsonProperty.class).value();
            Type t = p.getParameterizedType();
            if (t instanceof ParameterizedType pt && pt.getRawType() == Map.class
                    && pt.getActualTypeArguments()[1] instanceof Class<?> value && creator(value).isPresent()) {
                collect(value, key + ".NAME.", keys);
            } else if (t instanceof Class<?> c && !c.getName().startsWith("java.") && creator(c).isPresent()) {
                collect(c, key + ".", keys);
            } else {
                keys.add(key);
            }
        }
    }

    /** The static {@code @JsonCreator} that reads named properties, if the type has one. */
    private static Optional<Method> creator(Class<?> type) {
        return List.of(type.getDeclaredMethods()).stream()
                .filter(m -> Modifier.isStatic(m.getModifiers()) && m.isAnnotationPresent(JsonCreator.class))
                .filter(m -> m.getParameterCount() > 0
                        && List.of(m.getParameters()).stream().allMatch(p -> p.isAnnotationPresent(JsonProperty.class)))
                .findFirst();
    }
}
