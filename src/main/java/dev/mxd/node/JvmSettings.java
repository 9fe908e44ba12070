package dev.mxd.node;

/** Settings of the JDK that mxd's main makes before anything reads them. */
public final class JvmSettings {

    /** The JDK's switch for TLS extensions a server leaves unread. */
    static final String SERVER_DISABLED_EXTENSIONS = "jdk.tls.server.disableExtensions";

    private JvmSettings() {}

    /**
     * The JDK's TLS server checks the server name a client sends (SNI) as it reads the ClientHello and ends the handshake
     * with a fatal alert when the name has a final dot or a character outside letters, digits and hyphens, which some
     * TLS stacks send: such a sender never had TLS with this MX (an opportunistic one went on in plaintext). STARTTLS
     * has one certificate and no use for the name, as OpenSSL-based MTAs ignore it: the extension is left unread. The
     * JDK reads the setting once, when its TLS classes load, so mxd's main makes it first; an operator's own
     * {@code -Djdk.tls.server.disableExtensions} wins. A program that embeds a node sets it itself if it wants this.
     */
    public static void serverIgnoresClientServerName() {
        if (System.getProperty(SERVER_DISABLED_EXTENSIONS) == null) {
            System.setProperty(SERVER_DISABLED_EXTENSIONS, "server_name");
        }
    }
}
