package dev.mxd.smtp;

/**
 * RFC 3461 §4.3 RET values of MAIL FROM: what a bounce carries of the message, all of it or its
 * header section. The same set serves the MAIL mxd accepts, the envelope it spools (by name) and
 * the MAIL it sends on.
 */
public enum DsnReturn { FULL, HDRS }
