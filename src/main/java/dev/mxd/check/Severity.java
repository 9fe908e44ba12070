package dev.mxd.check;

/** How much a finding matters, most serious first (the order findings are listed in). */
public enum Severity {
    /** Mail to the domain fails or is lost: fix before trusting the set-up. */
    ERROR,
    /** Mail flows now, but something is fragile, insecure or against an RFC. */
    WARNING,
    /** Worth knowing; nothing to fix unless it was not intended. */
    NOTE;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
