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
 */
public record ClientInfo(InetSocketAddress remote, String helo, boolean esmtp, boolean tls) {}
