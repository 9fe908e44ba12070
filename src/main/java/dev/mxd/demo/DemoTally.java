package dev.mxd.demo;

import java.io.PrintWriter;
import java.util.Map;

/**
 * The end of {@code mxd demo}: what was sent, who accepted how much, and whether every
 * message the sending node accepted is in mx1's Maildir. Counted by each message's own
 * marker, not by totals, so one message lost and another delivered twice cannot cancel out.
 *
 * @param sent          messages the client tried to submit
 * @param acceptedBy    messages each node's spool accepted (mx1 counted over both of its runs)
 * @param viaBackups    messages in mx1's Maildir that passed through mx2 or mx3 (their Received headers)
 * @param delivered     distinct burst messages in mx1's Maildir
 * @param lost          accepted by the sending node and not in mx1's Maildir
 * @param duplicates    extra copies in mx1's Maildir (allowed after a crash; none expected here)
 * @param stillQueued   messages left in any node's spool at the end
 * @param bounced       bounces the sending node wrote back to the client's address
 * @param refused       messages the sending node did not accept with 250
 */
record DemoTally(int sent, Map<DemoCluster.Node, Long> acceptedBy, int viaBackups, int delivered, int lost,
                 int duplicates, int stillQueued, int bounced, int refused) {

    DemoTally {
        acceptedBy = Map.copyOf(acceptedBy);
    }

    /** Success: every message accepted, delivered to mx1's Maildir, none lost, none stuck, none bounced. */
    boolean ok() {
        return lost == 0 && stillQueued == 0 && bounced == 0 && refused == 0 && delivered == sent;
    }

    void print(PrintWriter out, double seconds) {
        long mx1 = acceptedBy.getOrDefault(DemoCluster.Node.MX1, 0L);
        out.printf("%ntally after %.1f s%n", seconds);
        row(out, "sent by the client", sent, "");
        row(out, "accepted by sender", acceptedBy.getOrDefault(DemoCluster.Node.SENDER, 0L), "");
        row(out, "accepted by mx1", mx1, "(" + (delivered - viaBackups) + " straight from sender, " + viaBackups
                + " handed over by the backups)");
        row(out, "accepted by mx2", acceptedBy.getOrDefault(DemoCluster.Node.MX2, 0L), "");
        row(out, "accepted by mx3", acceptedBy.getOrDefault(DemoCluster.Node.MX3, 0L), "");
        row(out, "delivered to mx1's Maildir", delivered, "(distinct messages, found by their " + DemoClient.MARKER_HEADER
                + " marker)");
        row(out, "lost", lost, "");
        row(out, "duplicates", duplicates, duplicates == 0 ? "" : "(the durability contract allows these, rarely)");
        row(out, "still queued", stillQueued, "");
        row(out, "bounced", bounced, "");
        row(out, "refused by sender", refused, "");
        if (ok()) {
            out.println("result: OK: every message reached mx1's Maildir; nothing lost, nothing stuck");
        } else {
            out.println("result: FAILED: " + (lost > 0 ? lost + " lost; " : "") + (stillQueued > 0 ? stillQueued + " still queued; " : "")
                    + (bounced > 0 ? bounced + " bounced; " : "") + (refused > 0 ? refused + " refused; " : "")
                    + "run again with --keep DIR and MXD_LOG_LEVEL=INFO to see each node's spool and log");
        }
    }

    private static void row(PrintWriter out, String what, long n, String note) {
        out.println(String.format("  %-28s %5d  %s", what, n, note).stripTrailing());
    }
}
