package dev.mxd.queue;

import java.nio.file.Path;
import java.util.List;

/**
 * Tells a message's sender what became of some recipients: a bounce for FAILED ones, a
 * success notice for DELIVERED ones that asked for it (RFC 3461 NOTIFY=SUCCESS). The queue
 * manager calls it before it records those states, so a crash can repeat a notice but never
 * lose one.
 */
public interface DeliveryNotices {

    /**
     * @param envelope the original message's envelope
     * @param text     the original message's spooled text
     * @param reported the recipients to report, each FAILED or DELIVERED
     * @throws java.io.IOException when the notice cannot be stored: the recipients' states are
     *                             then not recorded and the message is tried again later
     */
    void send(Envelope envelope, Path text, List<RecipientStatus> reported) throws java.io.IOException;
}
