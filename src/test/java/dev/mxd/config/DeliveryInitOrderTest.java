package dev.mxd.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Delivery.Retry built before Delivery was ever used (as Jackson does with a {@code delivery.retry}
 * key) must leave Delivery.DEFAULTS whole. It once held a null retry when a JVM's first
 * configuration had that key. Runs in its own class loader so the classes start uninitialised.
 */
class DeliveryInitOrderTest {

    @Test
    void retryFirstLeavesDefaultsWhole() throws Exception {
        java.net.URL classes = Delivery.class.getProtectionDomain().getCodeSource().getLocation();
        try (java.net.URLClassLoader fresh = new java.net.URLClassLoader(new java.net.URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
            Class<?> retry = Class.forName("dev.mxd.config.Delivery$Retry", true, fresh);
            var ctor = retry.getDeclaredConstructor(Duration.class, Duration.class, Duration.class);
            ctor.newInstance(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofHours(1));
            Object defaults = Class.forName("dev.mxd.config.Delivery", true, fresh).getField("DEFAULTS").get(null);
            assertThat(defaults.getClass().getMethod("retry").invoke(defaults)).isNotNull();
            assertThat(defaults.getClass().getMethod("hostRetry").invoke(defaults)).isNotNull();
        }
    }
}
