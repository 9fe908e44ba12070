package dev.mxd.node;

import dev.mxd.config.MxdConfig;
import dev.mxd.smtp.server.ServerCertificate;
import java.io.IOException;

/**
 * How starting a {@link ReceivingMx} went, sorted the way {@code mxd serve} reports it and
 * chooses its exit status: running, refused for good by its own configuration, or unable to
 * start now. The command line needs nothing of the SMTP server to tell them apart.
 */
public sealed interface NodeStart {

    /** The node runs; close it to stop. */
    record Running(ReceivingMx mx) implements NodeStart {}

    /**
     * The TLS certificate or key cannot be used: a configuration error that a restart does not
     * mend (a wrong key or an unreadable file).
     *
     * @param reason what is wrong with it, in a sentence
     */
    record UnusableCertificate(String reason) implements NodeStart {}

    /** The node cannot listen or open its spool; a later start may succeed. */
    record Failed(IOException cause) implements NodeStart {}

    /** Starts a node on {@code config} ({@link ReceivingMx#start}) and says how that went. */
    static NodeStart attempt(MxdConfig config) {
        try {
            return new Running(ReceivingMx.start(config));
        } catch (ServerCertificate.UnusableException e) {
            return new UnusableCertificate(e.refused().message());
        } catch (IOException e) {
            return new Failed(e);
        }
    }
}
