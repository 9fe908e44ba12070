package dev.mxd.queue;

import dev.mxd.smtp.EnhancedStatus;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A remote delivery agent for queue tests: deliveries whose first recipient {@code held} names wait until
 * {@link #mayGo} (30 s at most), counted while they wait; the others go at once, their time noted. Every
 * delivery ends delivered (250).
 */
final class HeldDeliveries {
    final CountDownLatch mayGo = new CountDownLatch(1);
    /** Held deliveries running now, and the most at once. */
    final AtomicInteger open = new AtomicInteger();
    final AtomicInteger most = new AtomicInteger();
    final Set<String> delivered = ConcurrentHashMap.newKeySet();
    /** When each delivery that was not held was made. */
    final Map<String, Instant> fastAt = new ConcurrentHashMap<>();
    private final Predicate<String> held;

    HeldDeliveries(Predicate<String> held) {
        this.held = held;
    }

    DeliveryAgent agent() {
        return (e, text, rs) -> {
            String address = rs.get(0).recipient().address().toString();
            if (held.test(address)) {
                most.accumulateAndGet(open.incrementAndGet(), Math::max);
                try {
                    mayGo.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                } finally {
                    open.decrementAndGet();
                }
            } else {
                fastAt.put(address, Instant.now());
            }
            rs.forEach(r -> delivered.add(r.recipient().address().toString()));
            return rs.stream().map(r -> (DeliveryResult) new DeliveryResult.Delivered(EnhancedStatus.OK, "250 ok",
                    Optional.empty(), Optional.empty())).toList();
        };
    }
}
