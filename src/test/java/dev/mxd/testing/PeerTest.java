package dev.mxd.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * Marks a test class or method that needs a real peer: a daemon started from the machine's
 * packages (Knot, Postfix, Dovecot, clamd, spamd, rspamd, smtp-sink), {@code mxd} as a separate
 * JVM, or an outside tool (swaks, testssl, dig). The unit suite leaves these out (the pom's
 * {@code mxd.excludedGroups}, {@value #TAG} by default); {@code -Dmxd.excludedGroups=none} runs them.
 * Inherited, so a contract class carries it to the tests that extend it.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Tag(PeerTest.TAG)
public @interface PeerTest {

    /** The JUnit tag this annotation stands for, the one the build excludes by default. */
    String TAG = "peer";
}
