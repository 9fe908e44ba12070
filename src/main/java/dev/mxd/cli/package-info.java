/**
 * The {@code mxd} command line (picocli): options, exit statuses and what each command prints.
 * Commands call into the packages that do the work (for example {@code node} to serve, {@code demo},
 * {@code ops} for the quarantine and, through the admin API, a running server); no other
 * package depends on this one.
 */
package dev.mxd.cli;
