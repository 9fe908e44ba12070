package dev.mxd.mail;

import java.net.InetSocketAddress;

/**
 * What the server knows about the client of one transaction, for policy decisions and the
 * Received header (RFC 5321 §4.4).
 *
 * @param remote the client's address and port
 * @param helo   the name the client gave in HELO/EHLO
 * @param esmtp  whether it said EHLO (ESMTP) rather than HELO
 * @param tls    whether the session runs inside TLS (STARTTLS, RFC 3207)
 * @param tlsDetails what the TLS session uses, for the Received header as Postfix writes it:
 *               {@code TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)}; empty without TLS
 * @param name   the client's host name, confirmed by forward-confirmed reverse DNS at connect; empty:
 *               {@code unknown} (no such name, or no lookup)
 */
public record ClientInfo(InetSocketAddress remote, String helo, boolean esmtp, boolean tls, java.util.Optional<String> tlsDetails,
                         java.util.Optional<String> name) {

    /** A client whose name is not known. */
    public ClientInfo(InetSocketAddress remote, String helo, boolean esmtp, boolean tls, java.util.Optional<String> tlsDetails) {
        this(remote, helo, esmtp, tls, tlsDetails, java.util.Optional.empty());
    }

    /** A client without TLS details (none, or not known: mail mxd writes itself, envelopes read back). */
    public ClientInfo(InetSocketAddress remote, String helo, boolean esmtp, boolean tls) {
        this(remote, helo, esmtp, tls, java.util.Optional.empty());
    }

    /**
     * Mail mxd makes or sends again itself (a notice, a TLS report, a quarantine release): no SMTP client, written as
     * the loopback address with port 0, which no connection over the network has (a source port 0 on loopback would
     * take a local process with raw sockets).
     */
    public boolean internal() {
        return remote.getPort() == 0 && remote.getAddress() != null && remote.getAddress().isLoopbackAddress();
    }
}
