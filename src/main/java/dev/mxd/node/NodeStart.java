package dev.mxd.node;

import dev.mxd.config.MxdConfig;
import dev.mxd.delivery.Maildir;
import dev.mxd.smtp.client.ClientSettings;
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
     * A setting cannot be used on this machine: a configuration error that a restart does not
     * mend (a wrong TLS key, an unreadable certificate, a Maildir owner that does not exist or
     * that mxd, not running as root, cannot give files to, a source address this host does not have).
     *
     * @param reason what is wrong, in a sentence that starts with the setting
     */
    record UnusableSetting(String reason) implements NodeStart {}

    /** The node cannot listen or open its spool; a later start may succeed. */
    record Failed(IOException cause) implements NodeStart {}

    /** Starts a node on {@code config} ({@link ReceivingMx#start}) and says how that went. */
    static NodeStart attempt(MxdConfig config) {
        try {
            return new Running(ReceivingMx.start(config));
        } catch (ServerCertificate.UnusableException e) {
            return new UnusableSetting("tls: " + e.refused().message());
        } catch (Maildir.UnusableOwnership | ClientSettings.UnusableSourceAddress e) {
            return new UnusableSetting(e.getMessage());
        } catch (IOException e) {
            return new Failed(e);
        }
    }
}
