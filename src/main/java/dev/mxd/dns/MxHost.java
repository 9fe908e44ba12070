package dev.mxd.dns;

import java.net.InetAddress;
import java.util.List;

/** One mail exchanger to try: its preference, name, addresses in try order, and what is odd about it. */
public record MxHost(int preference, String name, List<InetAddress> addresses, List<String> warnings) {
    public MxHost {
        addresses = List.copyOf(addresses);
        warnings = List.copyOf(warnings);
    }
}
