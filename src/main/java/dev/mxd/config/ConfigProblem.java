package dev.mxd.config;

import java.util.List;

/**
 * A configuration value that is wrong, with the keys that lead to it as written in the file
 * ({@code [domains, Example.test, filter, engines]}), so the loader can name the line of that
 * key even when the problem is found after the whole file was read.
 */
public final class ConfigProblem extends IllegalArgumentException {

    private final List<String> keyPath;

    public ConfigProblem(List<String> keyPath, String message, Throwable cause) {
        super(message, cause);
        this.keyPath = List.copyOf(keyPath);
    }

    /** The keys from the top of the file to the value at fault. */
    public List<String> keyPath() {
        return keyPath;
    }
}
