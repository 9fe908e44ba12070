package dev.mxd.dns.server;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * A zone file that cannot be served: which file, which line when the parser knows it, and why.
 * The message reads {@code zones/bad.zone line 7: expected an integer}, so an operator can open
 * the file at the line and fix it.
 */
public final class ZoneFileException extends Exception {

    private final Path file;
    private final OptionalInt line;
    private final String reason;

    public ZoneFileException(Path file, OptionalInt line, String reason) {
        super(file + (line.isPresent() ? " line " + line.getAsInt() : "") + ": " + reason);
        this.file = file;
        this.line = line;
        this.reason = reason;
    }

    public Path file() {
        return file;
    }

    public OptionalInt line() {
        return line;
    }

    public String reason() {
        return reason;
    }
}
