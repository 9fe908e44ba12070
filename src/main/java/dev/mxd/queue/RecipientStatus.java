package dev.mxd.queue;

import dev.mxd.smtp.server.Recipient;
import java.time.Instant;

/**
 * One recipient of a spooled message and how far its delivery got.
 *
 * @param recipient the address, DSN parameters and route decided at RCPT time
 * @param state     pending, delivered, deferred or failed
 * @param detail    the last reply or error, for logs and bounces ("" when none)
 * @param updated   when the state last changed
 */
public record RecipientStatus(Recipient recipient, DeliveryState state, String detail, Instant updated) {

    public RecipientStatus with(DeliveryState newState, String newDetail, Instant when) {
        return new RecipientStatus(recipient, newState, newDetail, when);
    }
}
