package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What mxd is for a domain (ARCHITECTURE "Roles of a domain"). */
public enum Role {
    /** mxd is the final MX: recipients are checked at RCPT and delivered to Maildir. */
    LOCAL,
    /** mxd is a lower-priority MX: accept, queue, relay to a better MX. */
    BACKUP;

    @JsonCreator
    public static Role parse(String text) {
        for (Role r : values()) {
            if (r.name().equalsIgnoreCase(text.strip())) {
                return r;
            }
        }
        throw new IllegalArgumentException("role '" + text + "' is unknown; write local or backup");
    }

    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
