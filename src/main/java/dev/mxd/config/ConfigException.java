package dev.mxd.config;

import java.nio.file.Path;

/**
 * The configuration cannot be used: says which file, which line and what is wrong, so an
 * operator can fix it without reading code. {@code mxd serve} exits 78 (EX_CONFIG) on it.
 */
public final class ConfigException extends Exception {

    private final Path file;
    private final int line;
    private final int column;

    public ConfigException(Path file, int line, String problem, Throwable cause) {
        this(file, line, 0, problem, cause);
    }

    /** A problem at one character of the file: {@code FILE:LINE:COLUMN: problem}, as compilers write it. */
    public ConfigException(Path file, int line, int column, String problem, Throwable cause) {
        super(file + (line > 0 ? ":" + line + (column > 0 ? ":" + column : "") : "") + ": " + problem, cause);
        this.file = file;
        this.line = line;
        this.column = line > 0 ? column : 0;
    }

    public Path file() {
        return file;
    }

    /** The 1-based line the problem is on, or 0 when it is not about one line (a missing file). */
    public int line() {
        return line;
    }

    /** The 1-based column the problem is at (YAML syntax errors), or 0 when the whole line or key is meant. */
    public int column() {
        return column;
    }
}
