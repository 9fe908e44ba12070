package dev.mxd.delivery;

import dev.mxd.mail.HeaderFields;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The {@code TLS-Required} header field of RFC 8689 §5: a sender's {@code TLS-Required: No} asks that
 * the recipient side's TLS policies (DANE, MTA-STS) not keep the message from being delivered, so it
 * goes with opportunistic TLS. Read from the spooled text's header section only.
 */
final class TlsRequiredField {

    private TlsRequiredField() {}

    /** Whether the header section of the message in {@code text} has {@code TLS-Required: No}. */
    static boolean saysNo(Path text) throws IOException {
        return HeaderFields.any(text, TlsRequiredField::says);
    }

    /** RFC 8689 §5: {@code TLS-Required: No}, the name and the value case-insensitive. */
    private static boolean says(String field) {
        return HeaderFields.value(field, "TLS-Required").map(v -> v.toLowerCase(Locale.ROOT).equals("no")).orElse(false);
    }
}
