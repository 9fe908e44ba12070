package dev.mxd.mail;

import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;

/** An accepted recipient: the address as given, its DSN parameters, and its route. */
public record Recipient(Mailbox address, RcptParameters dsn, Route route) {}
