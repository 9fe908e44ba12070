package dev.mxd.config;

import java.nio.file.Path;

/**
 * The configuration cannot be used: says which file, which line and what is wrong, so an
 * operator can fix it without reading code. {@code mxd serve} exits 78 (EX_CONFIG) on it.
 */
public final class ConfigException extends Exception {

    private final Path file;
    private final int line;

    public ConfigException(Path file, int line, String problem, Throwable cause) {
        super(file + (line > 0 ? ":" + line : "") + ": " + problem, cause);
        this.file = file;
        this.line = line;
    }

    public Path file() {
        return file;
    }

    /** The 1-based line the problem is on, or 0 when it is not about one line (a missing file). */
    public int line() {
        return line;
    }
}
