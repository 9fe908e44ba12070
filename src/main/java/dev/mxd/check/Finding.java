package dev.mxd.check;

import java.util.Optional;

/** One thing {@code mxd check} found: how serious, about which MX host (if one), and a sentence saying what to do. */
public record Finding(Severity severity, Optional<String> host, String message) {

    static Finding of(Severity severity, String message) {
        return new Finding(severity, Optional.empty(), message);
    }

    static Finding about(Severity severity, String host, String message) {
        return new Finding(severity, Optional.of(host), message);
    }
}
