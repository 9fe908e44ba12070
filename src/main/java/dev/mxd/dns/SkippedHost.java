package dev.mxd.dns;

/** A mail exchanger that is not tried, and why. */
public record SkippedHost(int preference, String name, String reason) {}
