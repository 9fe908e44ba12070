package dev.mxd.queue;

import java.util.Set;

/**
 * Told of the operator's flush before the mail it makes due is tried, so that what delivery
 * remembers about dead hosts does not keep the mail waiting: Postfix's {@code postqueue -f}
 * likewise makes its queue manager forget dead destinations.
 */
public interface FlushListener {

    /** Every deferred message is about to be due now. */
    void flushedAll();

    /** One message is about to be due now; {@code destinations} are the remote domains it still has to reach. */
    void flushed(Set<String> destinations);
}
