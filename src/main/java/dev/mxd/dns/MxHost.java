package dev.mxd.dns;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * One mail exchanger to try: its preference, name, addresses in try order, and what is odd about it.
 * {@code aliasOf} is the canonical name when the exchange is a CNAME (against RFC 2181 §10.3, followed
 * anyway by lenient resolution).
 */
public record MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings,
                     Optional<String> aliasOf) {
    public MxHost {
        addresses = List.copyOf(addresses);
        warnings = List.copyOf(warnings);
    }

    /** An exchange that names the host itself (no alias). */
    public MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings) {
        this(preference, name, addresses, warnings, Optional.empty());
    }
}
