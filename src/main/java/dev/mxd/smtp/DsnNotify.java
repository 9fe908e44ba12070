package dev.mxd.smtp;

/**
 * RFC 3461 §4.1 NOTIFY values of RCPT TO: when the recipient's sender wants a delivery status
 * notification. The same set serves the RCPT mxd accepts, the envelope it spools (by name) and
 * the RCPT it sends on.
 */
public enum DsnNotify { NEVER, SUCCESS, FAILURE, DELAY }
