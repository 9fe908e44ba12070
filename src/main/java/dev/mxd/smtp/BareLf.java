package dev.mxd.smtp;

import java.util.Locale;

/**
 * What the server does with a line feed that has no carriage return before it (RFC 5321 §2.3.8
 * allows only CRLF). In either mode the message text ends only at CRLF "." CRLF, and a bare CR
 * is refused (CR CR LF in message text aside, when normalizing): the end of data is never found
 * where another server would not find it.
 */
public enum BareLf {

    /** 521 and the connection is closed, in a command line or in message text. */
    REJECT,

    /**
     * The bare LF ends the line as CRLF would, and is stored as CRLF (as Postfix 3.9's
     * {@code smtpd_forbid_bare_newline = normalize}); a "." line it starts or ends is text. In
     * message text CR CR LF (PHP's mail()) is one line end, stored as CRLF.
     */
    NORMALIZE;

    /** "reject" or "normalize", as written in the configuration. */
    public static BareLf parse(String text) {
        try {
            return valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("limits.bare-lf '" + text + "' is not reject or normalize");
        }
    }
}
