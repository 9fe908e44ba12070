package dev.mxd.smtp;

import java.io.IOException;

/**
 * The peer sent bytes that are not an SMTP reply (RFC 5321 §4.2) or exceed our bounds. The
 * connection is unusable afterwards: the client cannot tell where the next reply starts.
 */
public final class MalformedReplyException extends IOException {

    public MalformedReplyException(String message) {
        super(message);
    }
}
