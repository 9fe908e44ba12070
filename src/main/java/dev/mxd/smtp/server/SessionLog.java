package dev.mxd.smtp.server;

import dev.mxd.smtp.LogText;
import dev.mxd.smtp.SmtpCommand;
import dev.mxd.smtp.SmtpReply;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one SMTP connection writes to the log so that an operator can answer "why was this
 * refused": a line at connect, one per refusal (any 4xx or 5xx reply, at any stage) and one at
 * disconnect with per-command counts, all in the shape Postfix's smtpd writes, so that habits
 * and tools (grep, fail2ban, pflogsumm-like scripts) carry over. Everything the client chose
 * passes through {@link LogText#safe(String)}. Event loop only.
 */
final class SessionLog {

    private static final Logger LOG = LoggerFactory.getLogger("dev.mxd.smtp.server.Session");

    /** Commands in the order Postfix lists them on the disconnect line. */
    private static final String[] ORDER = {"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "rset", "noop", "vrfy", "help", "etrn",
            "quit", "unknown"};

    private String name = "unknown";
    private boolean connectLogged;
    private final String address;
    private final RejectionListener rejections;
    private final Map<String, int[]> counts = new LinkedHashMap<>(); // command → {accepted, total}

    SessionLog(InetSocketAddress remote, RejectionListener rejections) {
        this.address = addressText(remote);
        this.rejections = rejections;
    }

    /** {@code 127.0.0.1} or {@code 2001:db8::1}: the address without port or scope. */
    static String addressText(InetSocketAddress remote) {
        if (remote == null) {
            return "unknown";
        }
        InetAddress a = remote.getAddress();
        if (a != null) {
            return dev.mxd.smtp.AddressText.of(a); // RFC 5952's form, as Postfix logs it (fail2ban's patterns), no scope
        }
        String text = remote.getHostString();
        int scope = text.indexOf('%');
        return scope < 0 ? text : text.substring(0, scope);
    }

    /** {@code NAME[ADDR]}, as Postfix names a client. */
    String client() {
        return name + "[" + address + "]";
    }

    /**
     * The connect line, once the client's name is known ({@code name} empty: {@code unknown}).
     * Later calls do nothing, so a lookup that ends after the session did changes nothing.
     */
    void connected(Optional<String> clientName) {
        if (connectLogged) {
            return;
        }
        connectLogged = true;
        name = clientName.orElse("unknown");
        if (LOG.isInfoEnabled()) {
            LOG.info("connect from {}", client());
        }
    }

    /** The disconnect line, e.g. {@code disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6}. */
    void disconnected() {
        connected(Optional.empty()); // gone before its name was known: the connect line still comes first
        if (LOG.isInfoEnabled()) {
            LOG.info("disconnect from {}{}", client(), countsText());
        }
    }

    String countsText() {
        StringBuilder b = new StringBuilder();
        int accepted = 0;
        int total = 0;
        for (String command : ORDER) {
            int[] c = counts.get(command);
            if (c == null) {
                continue;
            }
            b.append(' ').append(command).append('=').append(c[0]);
            if (c[0] != c[1]) {
                b.append('/').append(c[1]);
            }
            accepted += c[0];
            total += c[1];
        }
        if (total > 0) {
            b.append(" commands=").append(accepted);
            if (accepted != total) {
                b.append('/').append(total);
            }
        }
        return b.toString();
    }

    /** The name a command is counted and staged under (Postfix's lower-case command names). */
    static String commandName(SmtpCommand command) {
        if (command instanceof SmtpCommand.Helo) {
            return "helo";
        } else if (command instanceof SmtpCommand.Ehlo) {
            return "ehlo";
        } else if (command instanceof SmtpCommand.Mail) {
            return "mail";
        } else if (command instanceof SmtpCommand.Rcpt || command instanceof SmtpCommand.RcptPostmaster) {
            return "rcpt";
        } else if (command instanceof SmtpCommand.Data) {
            return "data";
        } else if (command instanceof SmtpCommand.Rset) {
            return "rset";
        } else if (command instanceof SmtpCommand.Noop) {
            return "noop";
        } else if (command instanceof SmtpCommand.Quit) {
            return "quit";
        } else if (command instanceof SmtpCommand.Vrfy) {
            return "vrfy";
        } else if (command instanceof SmtpCommand.Help) {
            return "help";
        } else if (command instanceof SmtpCommand.Etrn) {
            return "etrn";
        } else if (command instanceof SmtpCommand.StartTls) {
            return "starttls";
        }
        return "unknown";
    }

    /**
     * The name of a command the parser refused (its reply is a syntax error): the verb the client
     * wrote when it is one mxd knows, else {@code unknown}, so that a refused {@code EHLO} is
     * logged and counted as ehlo, as Postfix does.
     */
    static String commandName(byte[] line) {
        int end = 0;
        while (end < line.length && end < 10 && Character.isLetter(line[end])) {
            end++;
        }
        String verb = new String(line, 0, end, java.nio.charset.StandardCharsets.US_ASCII).toLowerCase(java.util.Locale.ROOT);
        for (String known : ORDER) {
            if (known.equals(verb) && (end == line.length || line[end] == ' ' || line[end] == ':' || line[end] == '\r')) {
                return verb;
            }
        }
        return "unknown";
    }

    /** One command was answered; {@code accepted} when its reply was positive. */
    void counted(String command, boolean accepted) {
        int[] c = counts.computeIfAbsent(command, k -> new int[2]);
        c[1]++;
        if (accepted) {
            c[0]++;
        }
    }

    /**
     * A refusal: one line as Postfix's {@code NOQUEUE: reject: RCPT from NAME[ADDR]: 550 5.1.1 <x@y>: ...;
     * from=<a@b> to=<x@y> proto=ESMTP helo=<h>}, and the rejection counted by stage and code.
     *
     * @param stage     connect, helo, ehlo, mail, rcpt, data, end-of-data, starttls, … (bounded set)
     * @param reply     the full reply sent
     * @param from      the envelope sender of the transaction, if MAIL was given
     * @param to        the recipient concerned, if any
     * @param esmtp     whether the client said EHLO
     * @param helo      the HELO/EHLO name, if given
     */
    void rejected(String stage, SmtpReply reply, Optional<String> from, Optional<String> to, boolean esmtp, Optional<String> helo) {
        StringBuilder b = new StringBuilder("NOQUEUE: reject: ").append(verb(stage)).append(" from ").append(client()).append(": ")
                .append(replyText(reply)).append(';');
        from.ifPresent(f -> b.append(" from=<").append(LogText.safe(f)).append('>'));
        to.ifPresent(t -> b.append(" to=<").append(LogText.safe(t)).append('>'));
        b.append(" proto=").append(esmtp ? "ESMTP" : "SMTP");
        helo.ifPresent(h -> b.append(" helo=<").append(LogText.safe(h)).append('>'));
        LOG.info("{}", b);
        try {
            rejections.rejected(stage, reply.code());
        } catch (RuntimeException e) {
            LOG.debug("rejection listener failed: {}", LogText.safe(e));
        }
    }

    /**
     * The client went without QUIT and without a last reply of mxd's: Postfix's {@code lost connection after DATA from
     * NAME[ADDR]}, naming the last command (or {@code CONNECT}), so a cut in the middle of a message is seen as one.
     */
    void lost(String stage) {
        if (LOG.isInfoEnabled()) {
            LOG.info("lost connection after {} from {}", verb(stage), client());
        }
    }

    /**
     * mxd closed the session with no command to answer (a timeout, a stop, room made for another client): Postfix's
     * {@code timeout after RCPT from NAME[ADDR]}, with the 421 sent. No NOQUEUE line and no rejection counted: the
     * last transaction may have been accepted, and nothing was refused.
     */
    void closedAfter(String why, String stage, SmtpReply reply) {
        if (LOG.isInfoEnabled()) {
            LOG.info("{} after {} from {}: {}", why, verb(stage), client(), replyText(reply));
        }
    }

    /** The reply on one line: {@code 550 5.1.1 text}, continuation lines joined by a space. */
    static String replyText(SmtpReply reply) {
        return LogText.safe(reply.code() + " " + String.join(" ", reply.lines())); // the lines carry the enhanced status
    }

    private static String verb(String stage) {
        return switch (stage) {
            case "end-of-data" -> "END-OF-MESSAGE";
            default -> stage.toUpperCase(java.util.Locale.ROOT);
        };
    }
}
