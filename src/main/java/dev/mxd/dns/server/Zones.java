package dev.mxd.dns.server;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.xbill.DNS.Name;

/** The zones one server is authoritative for, found by the longest origin that ends a query name. */
public final class Zones {

    private final List<ServedZone> zones;
    private final Map<Name, ServedZone> byOrigin = new HashMap<>();

    public Zones(List<ServedZone> zones) {
        this.zones = List.copyOf(zones);
        for (ServedZone z : this.zones) {
            ServedZone before = byOrigin.putIfAbsent(z.origin(), z);
            if (before != null) {
                throw new IllegalArgumentException("zone " + z.origin() + " is given twice: " + before.file()
                        + " and " + z.file() + "; serve each zone from one file");
            }
        }
    }

    public List<ServedZone> all() {
        return zones;
    }

    /** The zone holding {@code name}: the deepest origin it is at or below (a child zone wins over its parent). */
    public Optional<ServedZone> zoneFor(Name name) {
        for (int strip = 0; strip < name.labels(); strip++) {
            ServedZone z = byOrigin.get(strip == 0 ? name : new Name(name, strip));
            if (z != null) {
                return Optional.of(z);
            }
        }
        return Optional.empty();
    }
}
