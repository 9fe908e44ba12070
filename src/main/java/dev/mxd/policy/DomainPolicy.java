package dev.mxd.policy;

import dev.mxd.config.Cidr;
import dev.mxd.config.DomainConfig;
import dev.mxd.config.MxdConfig;
import dev.mxd.config.RecipientVerify;
import dev.mxd.config.Role;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.mail.RecipientVerifier;
import dev.mxd.config.RouteOverride;
import dev.mxd.smtp.Mailbox;
import dev.mxd.smtp.RcptParameters;
import dev.mxd.smtp.Replies;
import dev.mxd.mail.ClientInfo;
import dev.mxd.mail.RcptDecision;
import dev.mxd.mail.Recipient;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Route;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The roles a domain can have (docs/config.md, "domains"), decided per recipient at RCPT time:
 * local domains accept only recipients that resolve to a mailbox (550 5.1.1 otherwise, never
 * accept-then-bounce); backup domains accept every recipient, only the listed ones, or (verify:
 * callout) those a better MX accepts when asked; any other domain only from a trusted network
 * (554 5.7.1 otherwise). Local parts are matched exactly, so "%" and "!" routing tricks never turn
 * into relaying.
 */
public final class DomainPolicy implements RecipientPolicy {

    private final MxdConfig config;
    private final Optional<Mailbox> postmaster;
    private final RecipientVerifier verifier;

    /** A policy without callouts: a backup domain with verify: callout then answers its client 450 4.1.1. */
    public DomainPolicy(MxdConfig config) {
        this(config, RecipientVerifier.UNAVAILABLE);
    }

    public DomainPolicy(MxdConfig config, RecipientVerifier verifier) {
        this.config = config;
        this.verifier = verifier;
        // Postfix appends @$myorigin to a bare <postmaster>; here it is the first local domain of the file, else (a pure
        // backup MX or relay) this host's name, whose postmaster mailbox is the one double bounces fall back to
        this.postmaster = Optional.of(new Mailbox(DomainConfig.POSTMASTER, config.firstLocalDomain().orElse(config.hostname())));
    }

    @Override
    public Optional<Mailbox> postmaster() {
        return postmaster;
    }

    @Override
    public RcptDecision decide(Mailbox recipient, ClientInfo client) {
        String domain = recipient.domainKey();
        Optional<DomainConfig> d = recipient.isAddressLiteral() ? Optional.empty() : config.domain(domain);
        if (d.isEmpty() && hostPostmaster(recipient)) {
            // RFC 5321 §4.5.1: an MX that relays must take postmaster at its own name too, from any client; filtered as
            // the domain whose postmaster receives it filters its own postmaster's mail
            RcptDecision accept = new RcptDecision.Accept(postmasterRoute());
            return config.firstLocalDomain().flatMap(config::domain).map(first -> withFilter(accept, first)).orElse(accept);
        }
        if (d.isEmpty() && ownHost(recipient) && loopsHere(recipient)) {
            // RFC 1123 §5.2.17: this host's own address or name is recognised as this host, never relayed to by MX (it
            // would come back as "loops back to myself", a bounce after the 250): no mailbox but postmaster lives at it,
            // as Postfix refuses root@$myhostname with 550 5.1.1 when no local user has that name. A relay host or route
            // for the name sends it elsewhere (a satellite's cron mail to its central server): relayed as before.
            return new RcptDecision.Refuse(Replies.unknownUser(recipient.toString()));
        }
        if (d.isPresent()) {
            if (!deliveredHere(domain, d.get()) && routedBySender(recipient, client)) {
                return new RcptDecision.Refuse(Replies.relayDenied(recipient.toString()));
            }
            return withFilter(deliveredHere(domain, d.get()) ? local(recipient, domain, d.get()) : backup(recipient, domain, d.get()), d.get());
        }
        if (trusted(client.remote().getAddress())) {
            return new RcptDecision.Accept(new Route.Relay(domain)); // a domain not configured here: unfiltered
        }
        return new RcptDecision.Refuse(Replies.relayDenied(recipient.toString()));
    }

    /**
     * As {@link #decide}, except that a recipient of a backup domain with {@code verify: callout} is
     * asked of a better MX (through the verifier): accepted when it accepts, 550 5.1.1 with its reply
     * quoted when it refuses, 450 4.1.1 when nobody can tell now. Postmaster is accepted unasked.
     */
    @Override
    public CompletionStage<RcptDecision> decideForClient(Mailbox recipient, ClientInfo client) {
        Optional<DomainConfig> d = recipient.isAddressLiteral() ? Optional.empty() : config.domain(recipient.domainKey());
        if (d.isEmpty() || d.get().role() != Role.BACKUP || d.get().verify().mode() != RecipientVerify.Mode.CALLOUT
                || recipient.localKey().equals(DomainConfig.POSTMASTER) || routedBySender(recipient, client)) {
            return CompletableFuture.completedFuture(decide(recipient, client));
        }
        String domain = recipient.domainKey();
        RecipientVerify v = d.get().verify();
        RcptDecision accept = withFilter(new RcptDecision.Accept(new Route.Relay(domain)), d.get());
        return verifier.verify(recipient, domain, v.positiveExpire(), v.negativeExpire()).thenApply(verdict -> {
            if (verdict instanceof RecipientVerifier.Verdict.Exists) {
                return accept;
            }
            if (verdict instanceof RecipientVerifier.Verdict.Refused r) {
                return new RcptDecision.Refuse(refusedByPrimary(recipient, r.reply()));
            }
            if (verdict instanceof RecipientVerifier.Verdict.Undeliverable u) {
                return new RcptDecision.Refuse(SmtpReply.of(550, u.status(), "<" + recipient + ">: recipient address rejected: "
                        + "undeliverable address: " + quoted(u.reason())));
            }
            return new RcptDecision.Refuse(cannotVerify(recipient, ((RecipientVerifier.Verdict.Unknown) verdict).reason()));
        });
    }

    /** At most this much of the primary's text is quoted in a refusal. */
    private static final int QUOTED = 120;

    static SmtpReply refusedByPrimary(Mailbox recipient, SmtpReply primary) {
        return SmtpReply.of(550, EnhancedStatus.BAD_MAILBOX, "<" + recipient + ">: recipient address rejected: "
                + "undeliverable address: the primary MX said: " + quoted(primary.summary()));
    }

    static SmtpReply cannotVerify(Mailbox recipient, String reason) {
        return SmtpReply.of(450, EnhancedStatus.MAILBOX_UNVERIFIED, "<" + recipient + ">: recipient address rejected: cannot verify now: "
                + quoted(reason));
    }

    /** {@code text} as a reply line may quote it: its first {@value #QUOTED} characters, printable ASCII. */
    private static String quoted(String text) {
        return printable(text.length() > QUOTED ? text.substring(0, QUOTED) + "..." : text);
    }

    /** Another server's words go into our reply line: printable ASCII only. */
    private static String printable(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(c -> sb.append(c >= 0x20 && c < 0x7f ? (char) c : '?'));
        return sb.toString();
    }

    /**
     * Where mail mxd makes itself (a delivery status notice) to {@code recipient} goes. No client
     * sent it, so no trust is asked for: an address in a local domain goes to its mailboxes, any
     * other (backup or remote) by MX to its domain. Empty when the address is in a local domain
     * and leads to no mailbox there (the caller then tells the postmaster instead).
     */
    public Optional<Route> routeLocalMail(Mailbox recipient) {
        String domain = recipient.domainKey();
        Optional<DomainConfig> d = recipient.isAddressLiteral() ? Optional.empty() : config.domain(domain);
        if (d.isEmpty() && hostPostmaster(recipient)) {
            return Optional.of(postmasterRoute());
        }
        if (d.isEmpty() && ownHost(recipient) && loopsHere(recipient)) {
            return Optional.empty();
        }
        if (d.isPresent() && deliveredHere(domain, d.get())) {
            return local(recipient, domain, d.get()) instanceof RcptDecision.Accept a ? Optional.of(a.route()) : Optional.empty();
        }
        return Optional.of(new Route.Relay(domain));
    }

    /**
     * Postmaster at this host itself, where its name or address is no domain of the file: {@code postmaster@HOSTNAME}
     * (the name in its greeting, where abuse and bounce reports go), at one of {@code dns.local-names}, or at one of its
     * own addresses written as a literal ({@code postmaster@[192.0.2.1]}, RFC 1123 §5.2.17), as Postfix's default
     * {@code mydestination} takes {@code $myhostname} and its own interfaces' addresses.
     */
    private boolean hostPostmaster(Mailbox recipient) {
        // MAILER-DAEMON@HOSTNAME is the From of the bounces mxd writes: a reply to one reaches the postmaster, as
        // Postfix's stock aliases send MAILER-DAEMON there
        return (recipient.localKey().equals(DomainConfig.POSTMASTER) || recipient.localKey().equals(MAILER_DAEMON)) && ownHost(recipient);
    }

    /**
     * Whether mail to {@code recipient}, an address at this host, would come back here: an address literal always; a
     * name unless a relay host or route of {@code delivery} sends its domain to another server.
     */
    private boolean loopsHere(Mailbox recipient) {
        return recipient.isAddressLiteral() || config.delivery().nextHopFor(recipient.domainKey()).isEmpty();
    }

    /** The local part of the bounces' From, {@code MAILER-DAEMON@HOSTNAME}, as {@link Mailbox#localKey} keys it. */
    static final String MAILER_DAEMON = "mailer-daemon";

    /**
     * This host itself, where its name or address is no domain of the file: its {@code hostname}, one of
     * {@code dns.local-names}, or one of its own addresses written as a literal.
     */
    private boolean ownHost(Mailbox recipient) {
        if (recipient.isAddressLiteral()) {
            return ownLiteral(recipient);
        }
        String domain = recipient.domainKey();
        return domain.equals(dev.mxd.smtp.Idna.toAscii(config.hostname()))
                || config.localNames().stream().anyMatch(n -> domain.equals(new Mailbox(DomainConfig.POSTMASTER, n).domainKey()));
    }

    /**
     * Whether an address literal names this host (RFC 1123 §5.2.17): the address of one of its SMTP listeners, or with a
     * listener on the wildcard address, a loopback address or one of its interfaces' addresses.
     */
    private boolean ownLiteral(Mailbox recipient) {
        Optional<InetAddress> address = dev.mxd.smtp.PathParser.literalAddress(recipient.domainKey());
        if (address.isEmpty()) {
            return false; // a general address literal (RFC 5321 §4.1.3), or one that is no address
        }
        InetAddress a = address.get();
        if (a.isAnyLocalAddress()) {
            return true; // 0.0.0.0 and :: reach this host (as delivery finds when it would send there: a loop)
        }
        for (dev.mxd.config.HostPort l : config.smtpListeners()) {
            if (l.address().equals(a)) {
                return true;
            }
            if (l.address().isAnyLocalAddress()) {
                try {
                    if (a.isLoopbackAddress() || java.net.NetworkInterface.getByInetAddress(a) != null) {
                        return true;
                    }
                } catch (java.net.SocketException cannotList) {
                    if (a.isLoopbackAddress()) {
                        return true; // the interfaces could not be listed: loopback at least reaches the wildcard listener
                    }
                }
            }
        }
        return false;
    }

    /**
     * Where postmaster at this host goes: the postmaster of the first local domain, as {@code <Postmaster>} does, else
     * (no local domain: a pure backup MX or relay) {@code DATA-DIR/mail/HOSTNAME/postmaster/Maildir}.
     */
    private Route postmasterRoute() {
        return config.firstLocalDomain().flatMap(first -> routeLocalMail(new Mailbox(DomainConfig.POSTMASTER, first)))
                .orElseGet(this::hostPostmasterRoute);
    }

    /**
     * Who gets the notices that cannot go to a sender (Postfix's 2bounce_notice_recipient):
     * {@code delivery.double-bounce-recipient}, else the postmaster of the first local domain,
     * else (no local domain, or an address that leads to no mailbox) the mailbox postmaster of
     * this host's name, written to {@code DATA-DIR/mail/HOSTNAME/postmaster/Maildir}, so that
     * such a notice always has somewhere to go.
     */
    public Recipient noticePostmaster() {
        Optional<Mailbox> chosen = config.delivery().doubleBounceRecipient().map(Mailbox::parse).or(() -> postmaster);
        Optional<Recipient> routed = chosen.flatMap(m -> routeLocalMail(m).map(r -> new Recipient(m, RcptParameters.NONE, r)));
        return routed.orElseGet(() -> new Recipient(new Mailbox(DomainConfig.POSTMASTER, config.hostname()), RcptParameters.NONE,
                hostPostmasterRoute()));
    }

    /** {@code DATA-DIR/mail/HOSTNAME/postmaster/Maildir}. */
    private Route hostPostmasterRoute() {
        return new Route.Local(config.hostname(), List.of(DomainConfig.POSTMASTER));
    }

    /** Whether mail for {@code domainKey} (lowercase A-labels, as routes store it) is delivered to mailboxes here. */
    public boolean deliveredHere(String domainKey) {
        DomainConfig d = config.domains().get(domainKey);
        return d != null && deliveredHere(domainKey, d);
    }

    /**
     * A local domain, or a backup domain that {@code delivery.routes} routes {@code local}: its mail goes
     * to its mailboxes here, and only recipients that lead to one are accepted.
     */
    private boolean deliveredHere(String domain, DomainConfig d) {
        return d.role() == Role.LOCAL || config.delivery().routeFor(domain).orElse(null) instanceof RouteOverride.Local;
    }

    private RcptDecision local(Mailbox recipient, String domain, DomainConfig d) {
        return resolve(recipient, d, true)
                .<RcptDecision>map(boxes -> new RcptDecision.Accept(new Route.Local(domain, boxes)))
                .or(() -> d.catchAll().map(box -> new RcptDecision.Accept(new Route.Local(domain, List.of(box)))))
                .orElse(new RcptDecision.Refuse(Replies.unknownUser(recipient.toString())));
    }

    /**
     * An accepted recipient of a domain with a filter carries that filter's settings as its group: domains
     * with equal settings share one (DomainFilter is a record), every domain without a filter is unfiltered.
     */
    private static RcptDecision withFilter(RcptDecision decision, DomainConfig d) {
        if (decision instanceof RcptDecision.Accept a && d.filter().isPresent()) {
            return new RcptDecision.Accept(a.route(), new RcptDecision.FilterGroup(d.filter().get()));
        }
        return decision;
    }

    /**
     * A local part that routes on by itself ({@code user%other.example}, {@code "user@other.example"},
     * {@code other.example!user}), from a client outside {@code trusted-networks}. A domain relayed on (backup) does
     * not take it: a next hop that honours it (old sendmail, some gateways) would relay for anyone through the pair.
     * Postfix refuses the same by default ({@code allow_untrusted_routing = no}, checked in
     * {@code reject_unauth_destination} and {@code permit_mx_backup}); a domain delivered here reads its local parts itself.
     */
    private boolean routedBySender(Mailbox recipient, ClientInfo client) {
        // In compatibility form too (NFKC): a fullwidth ％ or ＠ in a UTF-8 local part is a "%" or "@" to a primary that
        // normalises local parts before it honours them
        String local = java.text.Normalizer.normalize(recipient.localPart(), java.text.Normalizer.Form.NFKC);
        return (local.indexOf('@') >= 0 || local.indexOf('%') >= 0 || local.indexOf('!') >= 0) && !trusted(client.remote().getAddress());
    }

    /**
     * Postmaster is always accepted (RFC 5321 §4.5.1), even when only listed mailboxes are. A domain
     * verified by callout accepts here: {@link #decideForClient} asks the primary.
     */
    private RcptDecision backup(Mailbox recipient, String domain, DomainConfig d) {
        if (d.verify().mode() != RecipientVerify.Mode.LIST || resolve(recipient, d, false).isPresent()
                || recipient.localKey().equals(DomainConfig.POSTMASTER)) {
            return new RcptDecision.Accept(new Route.Relay(domain));
        }
        return new RcptDecision.Refuse(Replies.unknownUser(recipient.toString()));
    }

    /**
     * The mailboxes an alias names, else a mailbox by its own name (an alias wins over a mailbox of the
     * same name, as Postfix looks aliases up before it delivers to a user). A domain delivered here tries
     * the local part's base before a {@code recipient-delimiter} character next ({@code alice+news}:
     * {@code alice}), as Postfix tries {@code user+foo} before {@code user}; the whole local part first,
     * so a mailbox whose name holds the delimiter keeps its mail. A backup domain's list is matched whole:
     * whether the primary takes extensions is not known here.
     */
    private Optional<List<String>> resolve(Mailbox recipient, DomainConfig d, boolean withExtensions) {
        String local = recipient.localKey();
        Optional<List<String>> whole = named(local, d);
        return whole.isPresent() || !withExtensions ? whole : base(local).flatMap(b -> named(b, d));
    }

    private static Optional<List<String>> named(String local, DomainConfig d) {
        List<String> alias = d.aliases().get(local);
        if (alias != null) {
            return Optional.of(alias);
        }
        return d.mailboxes().contains(local) ? Optional.of(List.of(local)) : Optional.empty();
    }

    /**
     * The local part before its first delimiter character. Never split, as Postfix's split_addr: a
     * local part that starts with a delimiter, postmaster and mailer-daemon, and with {@code -} as a
     * delimiter the list addresses {@code owner-LIST} and {@code LIST-request}.
     */
    private Optional<String> base(String local) {
        String delimiters = config.recipientDelimiter();
        if (local.isEmpty() || delimiters.indexOf(local.charAt(0)) >= 0 || UNSPLIT.contains(local)) {
            return Optional.empty();
        }
        for (int i = 1; i < local.length(); i++) {
            char c = local.charAt(i);
            if (delimiters.indexOf(c) >= 0 && !(c == '-' && (local.startsWith("owner-") || local.endsWith("-request")))) {
                return Optional.of(local.substring(0, i));
            }
        }
        return Optional.empty();
    }

    private static final java.util.Set<String> UNSPLIT = java.util.Set.of(DomainConfig.POSTMASTER, "mailer-daemon");

    private boolean trusted(InetAddress client) {
        for (Cidr net : config.trustedNetworks()) {
            if (net.contains(client)) {
                return true;
            }
        }
        return false;
    }
}
