package dev.mxd.cli;

/** Exit statuses, from sysexits.h where one fits. */
final class ExitCodes {
    static final int OK = 0;
    /** A permanent outcome: retrying will not help. */
    static final int PERMANENT = 1;
    /** EX_USAGE: the command line is wrong. */
    static final int USAGE = 64;
    /** EX_DATAERR: an input file (a zone file) is wrong. */
    static final int DATA_ERROR = 65;
    /** EX_NOINPUT: an input (a data directory) is not there. */
    static final int NOINPUT = 66;
    /** EX_UNAVAILABLE: a service needed (the running server's admin listener) is not there. */
    static final int UNAVAILABLE = 69;
    /** EX_SOFTWARE. */
    static final int SOFTWARE = 70;
    /** EX_IOERR: writing the output failed (standard output closed, a full disk behind it). */
    static final int IOERR = 74;
    /** EX_TEMPFAIL: try again later. */
    static final int TEMPORARY = 75;
    /** EX_NOPERM: not allowed (the admin token was refused or cannot be read). */
    static final int NOPERM = 77;
    /** EX_CONFIG: the configuration is wrong. */
    static final int CONFIG = 78;

    private ExitCodes() {}
}
