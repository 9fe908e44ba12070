package dev.mxd.smtp.server;

import dev.mxd.smtp.DataOutcome;

/** What {@link SmtpFrameDecoder} hands the connection handler: one command line or the end of one message. */
sealed interface Frame {

    /** A command line without its CRLF. */
    record CommandLine(byte[] bytes) implements Frame {}

    /** A command line longer than the limit (it was skipped up to its end). */
    record CommandTooLong() implements Frame {}

    /** A command line with a bare CR or LF (RFC 5321 §2.3.8). */
    record BareLineEnding() implements Frame {}

    /** The client sent bytes before the greeting was complete. */
    record TalkedEarly() implements Frame {}

    /** The message text ended, one way or another. */
    record DataEnd(DataOutcome outcome) implements Frame {}
}
