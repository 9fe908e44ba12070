package dev.mxd.dns;

import java.net.InetAddress;
import java.util.List;

/**
 * One mail exchanger to try: its preference, name, addresses in try order, what is odd about it, and the
 * DNSSEC status of its address records (secure only when every address answer validated).
 */
public record MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings, DnssecStatus dnssec) {
    /** A host whose addresses were not validated. */
    public MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings) {
        this(preference, name, addresses, warnings, DnssecStatus.INSECURE);
    }

    public MxHost {
        addresses = List.copyOf(addresses);
        warnings = List.copyOf(warnings);
    }
}
