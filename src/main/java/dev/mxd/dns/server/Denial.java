package dev.mxd.dns.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;

/**
 * Authenticated denial of existence from a zone signed offline: which NSEC or NSEC3 RRsets (each
 * with its RRSIGs) go into the authority section of an answer so that a validating resolver can
 * prove what the zone does not hold (RFC 4035 §3.1.3 for NSEC, RFC 5155 §7.2 for NSEC3). The
 * records come from the zone file as signed; nothing is computed but which of them to send.
 */
final class Denial {

    private final ServedZone zone;
    private final List<RRset> proof = new ArrayList<>();

    private Denial(ServedZone zone) {
        this.zone = zone;
    }

    /** The name does not exist and no wildcard answers for it (RFC 4035 §3.1.3.2; RFC 5155 §7.2.2). */
    static List<RRset> nameError(ServedZone zone, Name qname) {
        Denial d = new Denial(zone);
        if (zone.hashedDenial()) {
            Name encloser = d.closestEncloserProof(qname);
            d.add(zone.nsec3Covering(ServedZone.wildcardOf(encloser)));
        } else {
            d.add(zone.nsecCovering(qname));
            d.add(zone.nsecCovering(ServedZone.wildcardOf(zone.closestEncloser(qname))));
        }
        return d.proof;
    }

    /**
     * The name exists, as an owner or an empty non-terminal, but not with the type asked
     * (RFC 4035 §3.1.3.1; RFC 5155 §7.2.3, and §7.2.4 for DS where opt-out left the name out of the chain).
     */
    static List<RRset> noData(ServedZone zone, Name qname) {
        Denial d = new Denial(zone);
        if (zone.hashedDenial()) {
            Optional<RRset> match = zone.nsec3Matching(qname);
            if (match.isPresent()) {
                d.add(match);
            } else {
                d.closestEncloserProof(qname);
            }
        } else {
            Optional<RRset> match = zone.nsecAt(qname);
            // an empty non-terminal owns no NSEC: the one before it, whose next name lies below it, proves it empty
            d.add(match.isPresent() ? match : zone.nsecCovering(qname));
        }
        return d.proof;
    }

    /** The name does not exist; the wildcard that stands in for it lacks the type (RFC 4035 §3.1.3.4; RFC 5155 §7.2.5). */
    static List<RRset> wildcardNoData(ServedZone zone, Name qname) {
        Denial d = new Denial(zone);
        if (zone.hashedDenial()) {
            Name encloser = d.closestEncloserProof(qname);
            d.add(zone.nsec3Matching(ServedZone.wildcardOf(encloser)));
        } else {
            d.add(zone.nsecCovering(qname));
            d.add(zone.nsecAt(ServedZone.wildcardOf(zone.closestEncloser(qname))));
        }
        return d.proof;
    }

    /** An answer expanded from a wildcard: proof that the name asked does not exist itself (RFC 4035 §3.1.3.3; RFC 5155 §7.2.6). */
    static List<RRset> wildcardAnswer(ServedZone zone, Name qname) {
        Denial d = new Denial(zone);
        if (zone.hashedDenial()) {
            d.add(zone.nsec3Covering(nextCloser(qname, zone.closestEncloser(qname))));
        } else {
            d.add(zone.nsecCovering(qname));
        }
        return d.proof;
    }

    /** A referral to a child without DS: proof that the parent has no DS at the cut (RFC 4035 §3.1.4; RFC 5155 §7.2.7). */
    static List<RRset> unsignedDelegation(ServedZone zone, Name cut) {
        return noData(zone, cut);
    }

    /**
     * Adds the closest encloser proof for {@code name} (RFC 5155 §7.2.1): the NSEC3 matching the
     * closest ancestor the chain holds, and the NSEC3 covering the next closer name (with opt-out,
     * this is the closest provable encloser). Returns that encloser.
     */
    private Name closestEncloserProof(Name name) {
        // From the closest encloser up: the names below it do not exist and own no NSEC3, and hashing each of them (a
        // hostile query of 120 labels, each hash up to 150 iterations) would find nothing. The name itself has no NSEC3
        // (the callers' case), so the climb starts above it when it exists.
        Name encloser = zone.closestEncloser(name);
        if (encloser.equals(name) && name.labels() > zone.origin().labels()) {
            encloser = new Name(name, 1);
        }
        while (encloser.labels() > zone.origin().labels() && zone.nsec3Matching(encloser).isEmpty()) {
            encloser = new Name(encloser, 1); // opt-out left it out of the chain: the closest provable encloser is higher
        }
        Name next = nextCloser(name, encloser);
        add(zone.nsec3Matching(encloser));
        if (!next.equals(encloser)) {
            add(zone.nsec3Covering(next));
        }
        return encloser;
    }

    /** The name one label longer than {@code encloser} on the way to {@code qname} (RFC 5155 §1.3). */
    private static Name nextCloser(Name qname, Name encloser) {
        return qname.labels() > encloser.labels() ? new Name(qname, qname.labels() - encloser.labels() - 1) : qname;
    }

    private void add(Optional<RRset> set) {
        set.filter(s -> proof.stream().noneMatch(p -> p.getName().equals(s.getName()) && p.getType() == s.getType()))
                .ifPresent(proof::add);
    }
}
