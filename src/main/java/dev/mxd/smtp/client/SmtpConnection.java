package dev.mxd.smtp.client;

import dev.mxd.smtp.EhloExtensions;
import dev.mxd.smtp.EnhancedStatus;
import dev.mxd.smtp.MalformedReplyException;
import dev.mxd.smtp.Xtext;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.SmtpReplyReader;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import dev.mxd.smtp.AddressText;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * One outbound SMTP session to one MX address (RFC 5321 §3, §4), blocking, for a delivery thread:
 * {@link #open} connects, reads the greeting, says EHLO (HELO after a 5yz, §4.1.4) and upgrades
 * with STARTTLS as {@link TlsPolicy} says; {@link #send} runs one mail transaction, pipelined when
 * the server offers PIPELINING (RFC 2920); the same session then takes more messages to this host
 * while {@link #reusable()}. Trouble with the network or the server is a result, never an
 * exception: {@link OpenResult}, {@link TransactionResult}, {@link RecipientOutcome}. Every read has
 * a deadline for the whole reply and every write a time limit. Not thread-safe: one thread at a time.
 * {@code mxd check}'s {@link SmtpProbe} opens its sessions with it too, in its own words ({@link Voice}).
 */
public final class SmtpConnection implements AutoCloseable {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SmtpConnection.class);

    /** QUIT is a courtesy (RFC 5321 §4.1.1.10): its reply is not worth a full command timeout. */
    private static final Duration QUIT_WAIT = Duration.ofSeconds(2);
    private static final Duration RSET_PROBE_WAIT = Duration.ofSeconds(10);
    /** Content is read from the spool and written in blocks of this size. */
    private static final int BLOCK = 64 * 1024;

    // Where we are connected.
    private final InetSocketAddress target;
    private final String host;
    private final String where;
    private final ClientSettings settings;
    private final Voice voice;
    private final long initiated = System.nanoTime(); // before the connect: a reuse time limit counts from here
    private String heloName;

    // The transport; replaced once by STARTTLS.
    private Socket socket;
    /** The TCP socket under {@link #socket} (the same one before STARTTLS): what {@link #abort} closes. */
    private volatile Socket tcp;
    private DeadlineInputStream input;
    private SmtpReplyReader reader;
    private WriteDeadlineOutputStream rawOutput;
    private OutputStream output;

    // What the server said about itself.
    private SmtpReply greeting;
    private EhloExtensions extensions;
    private boolean esmtp;
    private SmtpReply hello;
    private boolean tls;
    // What the check of settings.authentication() found after the handshake: how it matched, or why not.
    private Optional<String> authenticated = Optional.empty();
    private Optional<ServerAuthentication.Rejected> unauthenticated = Optional.empty();

    // Session state between transactions.
    private SessionStage stage = SessionStage.CONNECT;
    private boolean broken;
    private boolean closed;
    private boolean needsRset;
    private int transactions;
    private byte[] block; // for reading the spooled content, reused for each message of the connection

    /**
     * How a session names its peer and words the failures of its opening: the delivery client says
     * what it does next (tries the next address); the probe of {@code mxd check} ({@link SmtpProbe})
     * says what the failure means for senders and names our end by its address in EHLO.
     */
    interface Voice {

        /** The peer in messages and logs. */
        String where(String host, InetSocketAddress target);

        /** The name for EHLO and HELO, once connected. */
        String heloName(ClientSettings settings, Socket socket);

        /** What the caller does after a refusal, appended to its description ("" to say nothing). */
        String afterRefusal();

        /** A greeting other than 2yz. */
        default String greetingRefused(String where, SmtpReply greeting) {
            return where + " greeted with " + greeting.summary()
                    + (greeting.transientFailure() ? ": it turns sessions away for now" : ": it refuses SMTP sessions")
                    + " (RFC 5321 §3.1)" + afterRefusal();
        }

        /** EHLO (and HELO after it) refused. */
        default String helloRefused(String where, boolean esmtp, String name, SmtpReply reply) {
            return where + " refused " + (esmtp ? "EHLO" : "EHLO and HELO") + " from " + name + ": " + reply.summary()
                    + afterRefusal();
        }

        /** The connection broke, timed out or carried something that is not SMTP at {@code stage}. */
        String lost(String where, SessionStage stage, IOException e, String what);

        /** Whether a server that answers EHLO with our own name is refused as this host (delivery; a probe only reports). */
        default boolean refusesItself() {
            return false;
        }
    }

    /** The delivery client's words. */
    static final Voice DELIVERY = new DeliveryVoice(false);

    /** The same, for a host on the port mxd itself takes mail on: one that answers EHLO with mxd's own name is mxd. */
    static final Voice DELIVERY_ON_OWN_PORT = new DeliveryVoice(true);

    private record DeliveryVoice(boolean refusesItself) implements Voice {
        @Override
        public String where(String host, InetSocketAddress target) {
            // as Postfix names a next hop, and as relay= does: mx.example[192.0.2.1]:25, mx.example[::1]:25 (not [[::1]:25])
            return host + "[" + AddressText.of(target.getAddress()) + "]:" + target.getPort();
        }

        @Override
        public String heloName(ClientSettings settings, Socket socket) {
            return settings.heloName();
        }

        @Override
        public String afterRefusal() {
            return "; trying the next address";
        }

        @Override
        public String lost(String where, SessionStage stage, IOException e, String what) {
            return where + " " + what + " at " + stage.label() + ": " + e.getMessage();
        }
    }

    /** How far an opening got: its result, and for a report the connect time and the greeting, when they came. */
    record Attempt(OpenResult result, OptionalLong connectMillis, Optional<SmtpReply> greeting) {}

    private SmtpConnection(InetSocketAddress target, String host, ClientSettings settings, Voice voice) {
        this.target = target;
        this.host = host;
        this.voice = voice;
        this.where = voice.where(host, target);
        this.settings = settings;
    }

    /**
     * Connects to {@code target}, the address of MX host {@code host} (used for TLS SNI and messages),
     * and opens the session. On failure the socket is closed and the result says where and why.
     */
    public static OpenResult open(InetSocketAddress target, String host, ClientSettings settings) {
        return attempt(target, host, settings, DELIVERY, socket -> { }).result();
    }

    /**
     * {@link #open} for delivery to an MX host on the port this server takes mail on (Postfix checks on
     * port 25 only): a server that answers EHLO with our own name is this host at another address (a NAT
     * or port forward) and the session fails with {@link SessionFailure.Cause#LOOP}. On another port a
     * server is another MTA, which may well carry the machine's name.
     */
    public static OpenResult openToMx(InetSocketAddress target, String host, ClientSettings settings) {
        return attempt(target, host, settings, DELIVERY_ON_OWN_PORT, socket -> { }).result();
    }

    /**
     * {@link #open} or {@link #openToMx} ({@code mx}), handing {@code opening} the socket before it connects: closing it
     * ends the connect, the greeting or the EHLO waited for now (a stop that cannot wait out their timeouts).
     */
    public static OpenResult open(InetSocketAddress target, String host, ClientSettings settings, boolean mx,
                                  java.util.function.Consumer<Socket> opening) {
        return attempt(target, host, settings, mx ? DELIVERY_ON_OWN_PORT : DELIVERY, opening).result();
    }

    /** {@link #open}, in the words of {@code voice}, telling also how long the connect took and what greeted. */
    static Attempt attempt(InetSocketAddress target, String host, ClientSettings settings, Voice voice) {
        return attempt(target, host, settings, voice, socket -> { });
    }

    private static Attempt attempt(InetSocketAddress target, String host, ClientSettings settings, Voice voice,
                                   java.util.function.Consumer<Socket> opening) {
        SmtpConnection c = new SmtpConnection(target, host, settings, voice);
        try {
            WriteDeadlineOutputStream.startChecks();
        } catch (IOException noThread) { // this host's limit, no fault of the MX host
            return new Attempt(new OpenResult.Failed(new SessionFailure(target, host, SessionStage.CONNECT, SessionFailure.Cause.LOCAL,
                    "cannot open a connection to " + c.where + ": " + noThread.getMessage(), Optional.empty())),
                    OptionalLong.empty(), Optional.empty());
        }
        Socket socket = new Socket();
        opening.accept(socket);
        long started = System.nanoTime();
        try {
            // Commands and content are buffered and flushed once per step: Nagle would only delay them.
            socket.setTcpNoDelay(true);
            Optional<InetAddress> source = settings.sourceFor(target.getAddress());
            if (source.isPresent()) {
                try {
                    socket.bind(new InetSocketAddress(source.get(), 0));
                } catch (IOException e) {
                    Connect.closeQuietly(socket);
                    return new Attempt(new OpenResult.Failed(new SessionFailure(target, host, SessionStage.CONNECT,
                            SessionFailure.Cause.LOCAL, "cannot connect to " + c.where + " from the source address "
                            + AddressText.of(source.get()) + ": " + e.getMessage(), Optional.empty())), OptionalLong.empty(), Optional.empty());
                }
            }
            socket.connect(target, (int) settings.timeouts().connect().toMillis());
        } catch (IOException e) {
            Connect.closeQuietly(socket);
            Connect.Error error = Connect.Error.of(e, c.where, settings.timeouts().connect());
            return new Attempt(new OpenResult.Failed(new SessionFailure(target, host, SessionStage.CONNECT, error.cause(),
                    error.detail(), Optional.empty())), OptionalLong.empty(), Optional.empty());
        }
        OptionalLong connectMillis = OptionalLong.of((System.nanoTime() - started) / 1_000_000);
        OpenResult result;
        try {
            c.attach(socket, socket);
            c.heloName = voice.heloName(settings, socket);
            Optional<SessionFailure> failure = c.handshake();
            if (failure.isPresent()) {
                c.close();
                result = new OpenResult.Failed(failure.get());
            } else {
                result = new OpenResult.Ready(c);
            }
        } catch (IOException e) {
            result = new OpenResult.Failed(c.lost(e));
        }
        return new Attempt(result, connectMillis, Optional.ofNullable(c.greeting));
    }

    /** Reads and writes through {@code s} (the TCP socket {@code tcp}, or TLS over it). */
    private void attach(Socket s, Socket tcp) throws IOException {
        socket = s;
        this.tcp = tcp;
        input = new DeadlineInputStream(s);
        // A new buffer after STARTTLS drops any plain text sent behind the 220 (the CVE-2011-0411 injection).
        reader = new SmtpReplyReader(new BufferedInputStream(input));
        rawOutput = new WriteDeadlineOutputStream(s, tcp, settings.timeouts().helo());
        output = new BufferedOutputStream(rawOutput, BLOCK);
    }

    /** Greeting, EHLO, STARTTLS; a failure if the session cannot carry mail. */
    private Optional<SessionFailure> handshake() throws IOException {
        stage = SessionStage.GREETING;
        greeting = read(settings.timeouts().greeting());
        if (!greeting.positive()) {
            return Optional.of(rejected(greeting, voice.greetingRefused(where, greeting)));
        }
        Optional<SessionFailure> hello = hello();
        if (hello.isPresent() || settings.tls() == TlsPolicy.NONE) {
            return hello;
        }
        if (!extensions.starttls()) {
            return settings.tls() == TlsPolicy.REQUIRE
                    ? Optional.of(new SessionFailure(target, host, SessionStage.STARTTLS, SessionFailure.Cause.REJECTED, where
                            + " does not offer STARTTLS and the TLS policy requires it", Optional.empty()))
                    : Optional.empty();
        }
        stage = SessionStage.STARTTLS;
        SmtpReply starttls = command("STARTTLS", settings.timeouts().helo());
        if (!starttls.positive()) {
            if (settings.tls() == TlsPolicy.REQUIRE || starttls.code() == 421) {
                return Optional.of(rejected(starttls, where + " refused STARTTLS: " + starttls.summary()));
            }
            return Optional.empty(); // RFC 3207 §4: the session goes on in plain text, as before STARTTLS
        }
        Optional<SessionFailure> upgraded = startTls();
        if (upgraded.isPresent()) {
            return upgraded;
        }
        try {
            return hello();
        } catch (EOFException | javax.net.ssl.SSLException | java.net.SocketException e) {
            if (settings.tls() != TlsPolicy.OPPORTUNISTIC) {
                throw e; // a policy that requires TLS keeps it: the host failed, not the handshake
            }
            // In TLS 1.3 the client's handshake ends before the server has judged it: a server that
            // refuses the session (certificate_required, a broken TLS stack) is heard at the first read,
            // the EHLO over TLS, as a TLS alert or a hang-up. That is the TLS session failing, and the
            // same host may work without TLS, as Postfix retries in plain text after a TLS session
            // failure under "may". A timeout or a bad reply is the host's, as before.
            SessionFailure f = lost(e);
            return Optional.of(new SessionFailure(target, host, SessionStage.TLS_HANDSHAKE, f.cause(), "TLS session with " + where
                    + " failed at the EHLO over TLS (" + f.detail() + "); retry this host without TLS", Optional.empty()));
        }
    }

    /** EHLO, or HELO when EHLO gets 5yz (RFC 5321 §4.1.4); sets {@link #extensions}. */
    private Optional<SessionFailure> hello() throws IOException {
        stage = SessionStage.EHLO;
        SmtpReply reply = command("EHLO " + heloName, settings.timeouts().helo());
        esmtp = true;
        if (reply.permanentFailure() && !tls) {
            esmtp = false;
            reply = command("HELO " + heloName, settings.timeouts().helo());
        }
        if (!reply.positive()) {
            return Optional.of(rejected(reply, voice.helloRefused(where, esmtp, heloName, reply)));
        }
        hello = reply;
        extensions = esmtp ? EhloExtensions.of(reply) : EhloExtensions.none(EhloExtensions.firstWord(reply.firstLine()));
        String name = EhloExtensions.firstWord(reply.firstLine());
        if (voice.refusesItself() && !heloName.startsWith("[") && name.equalsIgnoreCase(heloName)) {
            // Postfix's check: this host behind a NAT or port forward that its address list cannot know of.
            return Optional.of(new SessionFailure(target, host, stage, SessionFailure.Cause.LOOP, where + " answered "
                    + (esmtp ? "EHLO" : "HELO") + " with this host's own name " + name + ": it is this host at another address"
                    + " (a NAT or port forward), and mail sent there would loop back to myself" + voice.afterRefusal(),
                    Optional.empty()));
        }
        return Optional.empty();
    }

    /** RFC 3207 §4: TLS handshake after the 220 to STARTTLS; the session starts over with EHLO (§4.2). */
    private Optional<SessionFailure> startTls() {
        AtomicBoolean expired = new AtomicBoolean();
        try {
            handshakeTls(expired);
            return authenticate();
        } catch (IOException e) {
            String why = expired.get() ? "did not finish within " + Connect.text(settings.timeouts().helo()) : e.getMessage();
            return Optional.of(new SessionFailure(target, host, SessionStage.TLS_HANDSHAKE,
                    expired.get() ? SessionFailure.Cause.TIMEOUT : e instanceof SSLException ? SessionFailure.Cause.PROTOCOL_ERROR : SessionFailure.Cause.CLOSED,
                    "TLS handshake with " + where + " failed (" + why + ")"
                            + (settings.tls() == TlsPolicy.OPPORTUNISTIC ? "; retry this host without TLS" : ""),
                    Optional.empty()));
        }
    }

    /**
     * Checks the server's certificate with {@code settings.authentication()}, when set. A failed check
     * ends the session under {@link TlsPolicy#REQUIRE} (before EHLO over TLS: nothing more is said to
     * a server that is not the one the policy names) and is only remembered otherwise.
     */
    private Optional<SessionFailure> authenticate() throws IOException {
        if (settings.authentication().isEmpty()) {
            return Optional.empty();
        }
        ServerAuthentication check = settings.authentication().get();
        List<X509Certificate> chain = new ArrayList<>();
        for (Certificate c : ((SSLSocket) socket).getSession().getPeerCertificates()) {
            if (c instanceof X509Certificate x) {
                chain.add(x);
            }
        }
        try {
            try {
                authenticated = Optional.of(check.verify(List.copyOf(chain), host));
            } catch (RuntimeException broken) {
                // a crafted certificate the check cannot even read authenticates nothing
                throw new ServerAuthentication.Rejected("validation-failure", "the certificate could not be checked: " + broken);
            }
            return Optional.empty();
        } catch (ServerAuthentication.Rejected e) {
            unauthenticated = Optional.of(e);
            if (settings.tls() != TlsPolicy.REQUIRE) {
                return Optional.empty();
            }
            return Optional.of(new SessionFailure(target, host, SessionStage.TLS_HANDSHAKE, SessionFailure.Cause.UNAUTHENTICATED,
                    where + " is not authenticated by " + check.method() + ": " + e.getMessage(), Optional.empty(),
                    Optional.of(e.resultType())));
        }
    }

    /** The TLS handshake on the connection, within the EHLO time limit ({@code expired} says it ran out); broken if it fails. */
    private void handshakeTls(AtomicBoolean expired) throws IOException {
        stage = SessionStage.TLS_HANDSHAKE;
        Socket plain = socket;
        ScheduledFuture<?> alarm = WriteDeadlineOutputStream.closeLater(plain, settings.timeouts().helo(), () -> expired.set(true));
        try {
            // SNI: the MX host name, or the name the certificate check asks for (DANE's TLSA base domain).
            String serverName = settings.authentication().flatMap(ServerAuthentication::serverName).orElse(host);
            SSLSocket s = (SSLSocket) settings.sslContext().getSocketFactory()
                    .createSocket(plain, serverName, target.getPort(), true);
            List<String> supported = Arrays.asList(s.getSupportedProtocols());
            s.setEnabledProtocols(settings.tlsProtocols().stream().filter(supported::contains).toArray(String[]::new));
            s.setUseClientMode(true);
            s.setSoTimeout((int) settings.timeouts().helo().toMillis());
            s.startHandshake();
            attach(s, plain);
            tls = true;
        } catch (IOException e) {
            broken = true;
            Connect.closeQuietly(plain);
            throw e;
        } finally {
            alarm.cancel(false);
        }
    }

    /**
     * For {@link SmtpProbe}, on a session opened without TLS whose server offers STARTTLS: the
     * upgrade as a sender would make it (STARTTLS, the handshake, EHLO again as RFC 3207 §4.2
     * says), telling the TLS version, cipher and certificate the server presented, or why there
     * are none. The session stays open for QUIT unless the handshake broke it.
     */
    ProbeResult.Tls upgradeToDescribe() {
        AtomicBoolean expired = new AtomicBoolean();
        try {
            stage = SessionStage.STARTTLS;
            SmtpReply ready = command("STARTTLS", settings.timeouts().helo());
            if (ready.code() != 220) {
                return new ProbeResult.Tls.Failed(where + " offers STARTTLS but answered it " + ready.summary());
            }
            handshakeTls(expired);
            SSLSession session = ((SSLSocket) socket).getSession();
            Certificate[] chain = session.getPeerCertificates();
            ProbeResult.Tls result = chain.length > 0 && chain[0] instanceof X509Certificate x
                    ? new ProbeResult.Tls.Presented(session.getProtocol(), session.getCipherSuite(), PresentedCertificate.of(x),
                            Arrays.stream(chain).filter(X509Certificate.class::isInstance).map(X509Certificate.class::cast).toList())
                    : new ProbeResult.Tls.Failed(where + " presented no X.509 certificate");
            try {
                hello(); // what it says over TLS does not change what the handshake showed
            } catch (IOException e) {
                closeBroken();
            }
            return result;
        } catch (IOException e) {
            closeBroken();
            String why = expired.get() ? "did not finish within " + Connect.text(settings.timeouts().helo()) : e.getMessage();
            return new ProbeResult.Tls.Failed(where + ": the STARTTLS handshake failed: " + why);
        }
    }

    /**
     * Runs one mail transaction: MAIL FROM, RCPT TO for each recipient, DATA and the content.
     * With PIPELINING the commands up to DATA go out in one write and the replies are read in order
     * (RFC 2920 §3.1); otherwise in lock-step. Refuses locally, without a command, a message larger
     * than the server's SIZE (5.3.4, RFC 1870 §6). To a server without SMTPUTF8, a message received
     * with it goes without the parameter unless its sender or a header field is not ASCII (then every
     * recipient fails 5.6.7, RFC 6531 §3.4), and only the recipients whose address has no ASCII form
     * fail 5.6.7, unsent ({@link AsciiTransaction}). Recipients refused with 452 "too many
     * recipients" while others were taken go again at once in a new transaction on this
     * connection (RFC 5321 §4.5.3.1.10), at most as many rounds as recipients. After a transaction
     * that ended without a reply to its content (MAIL or every RCPT refused, DATA refused) the next
     * one starts with RSET (RFC 5321 §4.1.1.5); after a completed one the server has reset itself
     * and MAIL follows directly, as Postfix does.
     *
     * @throws IllegalStateException if the connection is not {@link #reusable()}
     */
    public TransactionResult send(OutboundEnvelope envelope) {
        if (!reusable()) {
            throw new IllegalStateException("SMTP connection to " + where + " is "
                    + (closed ? "closed" : "broken") + "; open a new one");
        }
        transactions++;
        List<OutboundRecipient> rcpts = envelope.recipients();
        RecipientOutcome[] outcomes = new RecipientOutcome[rcpts.size()];
        OutboundEnvelope wire = envelope;
        List<Integer> sent = IntStream.range(0, rcpts.size()).boxed().toList();
        if (envelope.requireTls() && (!tls || authenticated.isEmpty())) {
            // RFC 8689 §4.2.1: never on a session whose certificate is not authenticated (DANE, MTA-STS, PKIX), whoever asks.
            return refuseAll(rcpts, EnhancedStatus.ENCRYPTION_NEEDED, where + " is not a TLS session authenticated by DANE,"
                    + " MTA-STS or PKIX (RFC 8689 §4.2.1); not sent");
        }
        if (envelope.requireTls() && !extensions.requireTls()) {
            // RFC 8689 §4.2.1: a REQUIRETLS message goes only to a server that offers REQUIRETLS.
            return refuseAll(rcpts, EnhancedStatus.REQUIRETLS_NEEDED, where + " does not offer REQUIRETLS (RFC 8689 §4.2.1); not sent");
        }
        if (envelope.needsSmtputf8() && !extensions.offers("SMTPUTF8")) {
            AsciiTransaction plan;
            try {
                plan = AsciiTransaction.of(envelope);
            } catch (IOException e) {
                return completed(rcpts.stream().map(r -> (RecipientOutcome) deferred(r, SessionStage.MAIL, Optional.empty(),
                        EnhancedStatus.LOCAL_ERROR, "could not read the spooled message's header section (" + e.getMessage()
                                + ") to tell whether it needs SMTPUTF8, which " + where + " does not offer", false)).toList());
            }
            if (plan instanceof AsciiTransaction.Refused refused) {
                return refuseAll(rcpts, EnhancedStatus.NEEDS_SMTPUTF8, where + " does not offer SMTPUTF8 and " + refused.reason()
                        + " (RFC 6531 §3.4); not sent");
            }
            AsciiTransaction.Downgraded ascii = (AsciiTransaction.Downgraded) plan;
            for (AsciiTransaction.LeftOut l : ascii.left()) {
                // RFC 6531 §3.2: such an address must not reach a server without SMTPUTF8; its co-recipients may.
                outcomes[l.index()] = new RecipientOutcome.Failed(rcpts.get(l.index()), SessionStage.RCPT, Optional.empty(),
                        EnhancedStatus.NEEDS_SMTPUTF8, where + " does not offer SMTPUTF8 and " + l.reason() + " (RFC 6531 §3.2); not sent");
            }
            if (ascii.sent().isEmpty()) {
                return completed(List.of(outcomes));
            }
            wire = ascii.envelope();
            sent = ascii.sent();
        }
        if (envelope.eightBit() && !extensions.offers("8BITMIME")) {
            // RFC 6152 §3: 8-bit text goes to a server without 8BITMIME only converted to 7 bit.
            Optional<MessageContent> sevenBit;
            try {
                sevenBit = MimeDowngrade.of(wire.content());
            } catch (IOException e) {
                String why = "could not read the spooled message (" + e.getMessage() + ") to convert it to 7 bit for " + where
                        + ", which does not offer 8BITMIME";
                return settleTheRest(rcpts, outcomes, r -> deferred(r, SessionStage.MAIL, Optional.empty(), EnhancedStatus.LOCAL_ERROR,
                        why, false));
            }
            if (sevenBit.isPresent()) {
                wire = wire.withContent(sevenBit.get());
            }
        }
        long size = wire.content().size();
        if (extensions.maxSize().isPresent() && size > extensions.maxSize().getAsLong()) {
            return refuseAll(rcpts, outcomes, EnhancedStatus.TOO_BIG, "message of " + size + " bytes"
                    + (size == envelope.content().size() ? "" : " (converted to 7 bit)") + " is larger than the "
                    + extensions.maxSize().getAsLong() + " bytes " + where + " takes (SIZE, RFC 1870); not sent");
        }
        return rounds(envelope, wire, sent, outcomes);
    }

    /**
     * The transaction, then again for the recipients a server refused with 452 as too many
     * (RFC 5321 §4.5.3.1.10) while it took others: a new transaction on this connection right away,
     * rather than a retry much later. Ends when a round brings nothing more, at most one round per
     * recipient. A session that breaks in a later round defers what is left: the earlier rounds
     * delivered, so the caller must not try the whole envelope at the next address.
     *
     * @param wire     what goes out: the envelope, or its ASCII form
     * @param sent     for each recipient of {@code wire}, its index in {@code envelope}
     * @param outcomes one slot per recipient of {@code envelope}; the recipients left out are filled in
     */
    private TransactionResult rounds(OutboundEnvelope envelope, OutboundEnvelope wire, List<Integer> sent, RecipientOutcome[] outcomes) {
        List<OutboundRecipient> original = envelope.recipients();
        OutboundEnvelope round = wire;
        List<Integer> indices = sent;
        for (int n = 1; ; n++) {
            if (n > 1) {
                transactions++;
            }
            TransactionResult result;
            try {
                result = transaction(round);
            } catch (IOException e) {
                result = new TransactionResult.Failed(lost(e));
            }
            if (result instanceof TransactionResult.Failed failed) {
                if (n == 1) {
                    // Nothing went here; the caller tries the next address. The recipients left out
                    // for want of SMTPUTF8 keep their 5.6.7 in case no address takes the message.
                    Map<Integer, RecipientOutcome.Failed> settled = new HashMap<>();
                    for (int i = 0; i < outcomes.length; i++) {
                        if (outcomes[i] instanceof RecipientOutcome.Failed leftOut) {
                            settled.put(i, leftOut);
                        }
                    }
                    return new TransactionResult.Failed(failed.failure(), settled);
                }
                SessionFailure f = failed.failure();
                for (int i : indices) {
                    outcomes[i] = deferred(original.get(i), f.stage(), f.reply(), EnhancedStatus.BAD_CONNECTION, f.detail()
                            + " (in a new transaction for recipients refused as too many)", false);
                }
                return completed(List.of(outcomes));
            }
            List<RecipientOutcome> done = ((TransactionResult.Completed) result).recipients();
            List<Integer> again = new ArrayList<>();
            boolean someAccepted = false;
            for (int k = 0; k < indices.size(); k++) {
                RecipientOutcome o = done.get(k);
                if (n > 1 && o instanceof RecipientOutcome.Failed f && f.stage() == SessionStage.MAIL) {
                    // A MAIL refused in a later transaction of the session ("too many messages in this session") judges
                    // the session, not these recipients, which the server never saw: they wait for a later delivery, as
                    // RFC 5321 §4.5.3.1.10 has them go "in a later transaction" and Postfix defers them.
                    o = deferred(o.recipient(), SessionStage.MAIL, f.reply(), EnhancedStatus.BAD_CONNECTION, f.detail()
                            + " (in a new transaction for recipients refused as too many)", false);
                }
                outcomes[indices.get(k)] = about(o, original.get(indices.get(k)));
                someAccepted |= o instanceof RecipientOutcome.Accepted;
                if (tooManyRecipients(o)) {
                    again.add(k);
                }
            }
            if (again.isEmpty() || !someAccepted || !reusable() || n >= sent.size()) {
                return completed(List.of(outcomes));
            }
            List<OutboundRecipient> rest = new ArrayList<>();
            List<Integer> restIndices = new ArrayList<>();
            for (int k : again) {
                rest.add(round.recipients().get(k));
                restIndices.add(indices.get(k));
            }
            round = round.withRecipients(rest);
            indices = restIndices;
        }
    }

    /**
     * RFC 5321 §4.5.3.1.10: 452 to a RCPT means "too many recipients" (RFC 3463 4.5.3), unless its
     * enhanced code says otherwise (4.2.2 mailbox full, 4.3.1 out of storage), which another
     * transaction would not change.
     */
    private static boolean tooManyRecipients(RecipientOutcome o) {
        return o instanceof RecipientOutcome.Deferred d && d.stage() == SessionStage.RCPT
                && d.reply().map(r -> r.code() == 452 && r.enhancedStatus().map(EnhancedStatus.TOO_MANY_RECIPIENTS::equals).orElse(true)
                        || tooManyAsPermanent(r)).orElse(false);
    }

    /**
     * RFC 5321 §4.5.3.1.10: older servers answer a RCPT past their limit with 552, which the client
     * SHOULD treat as temporary; recognised by its enhanced code 5.5.3 (RFC 3463: too many
     * recipients), or, from a server that sends no enhanced codes (the RFC 821 servers the RFC
     * means), by its text saying "too many recipients". Any other 552 refuses the recipient.
     */
    private static boolean tooManyAsPermanent(SmtpReply r) {
        return r.code() == 552 && r.enhancedStatus().map(EnhancedStatus.TOO_MANY_RECIPIENTS_PERMANENT::equals)
                .orElseGet(() -> String.join(" ", r.lines()).toLowerCase(java.util.Locale.ROOT).contains("too many recipients"));
    }

    /** A recipient's outcome when its transaction's MAIL was refused. */
    private RecipientOutcome mailRefused(OutboundEnvelope envelope, OutboundRecipient r, SmtpReply mail) {
        return verdict(r, SessionStage.MAIL, mail, where + " refused MAIL FROM:<" + envelope.sender() + ">: " + mail.summary());
    }

    /** A refused RCPT's outcome: its reply's verdict, but 552 5.5.3 (too many recipients) is temporary. */
    private RecipientOutcome rcptRefused(OutboundRecipient r, SmtpReply reply) {
        String detail = where + " refused RCPT TO:<" + r.address() + ">: " + reply.summary();
        return tooManyAsPermanent(reply)
                ? deferred(r, SessionStage.RCPT, Optional.of(reply), EnhancedStatus.TOO_MANY_RECIPIENTS, detail, false)
                : verdict(r, SessionStage.RCPT, reply, detail);
    }

    /** The outcome with the envelope's recipient, where the wire had its ASCII form. */
    private static RecipientOutcome about(RecipientOutcome o, OutboundRecipient r) {
        if (o.recipient().equals(r)) {
            return o;
        }
        if (o instanceof RecipientOutcome.Accepted a) {
            return new RecipientOutcome.Accepted(r, a.rcptReply(), a.finalReply(), a.status(), a.detail());
        }
        if (o instanceof RecipientOutcome.Deferred d) {
            return new RecipientOutcome.Deferred(r, d.stage(), d.reply(), d.status(), d.detail(), d.maybeDelivered());
        }
        RecipientOutcome.Failed f = (RecipientOutcome.Failed) o;
        return new RecipientOutcome.Failed(r, f.stage(), f.reply(), f.status(), f.detail());
    }

    private TransactionResult transaction(OutboundEnvelope envelope) throws IOException {
        List<OutboundRecipient> rcpts = envelope.recipients();
        ClientSettings.Timeouts t = settings.timeouts();
        boolean pipelining = extensions.offers("PIPELINING");
        boolean rset = needsRset;
        needsRset = true; // until a final reply closes the transaction (RFC 5321 §4.1.1.4)
        String mail = mailCommand(envelope);
        List<String> rcptCommands = rcpts.stream().map(this::rcptCommand).toList();

        Replies replies = new Replies();
        try {
            if (!exchange(replies, pipelining, rset, mail, rcptCommands, t)) {
                return new TransactionResult.Failed(closeRejected(replies.last, "RSET"));
            }
        } catch (IOException e) {
            Optional<TransactionResult> refused = refusedBeforeTheLoss(envelope, replies, e);
            if (refused.isPresent()) {
                return refused.get();
            }
            throw e;
        }
        replies.mail = replies.first(SessionStage.MAIL);
        return finish(envelope, replies);
    }

    /** The commands up to DATA and their replies, pipelined (RFC 2920) or one by one; false when RSET was refused. */
    private boolean exchange(Replies replies, boolean pipelining, boolean rset, String mail, List<String> rcptCommands,
                             ClientSettings.Timeouts t) throws IOException {
        if (pipelining) {
            stage = rset ? SessionStage.RSET : SessionStage.MAIL;
            StringBuilder batch = new StringBuilder();
            if (rset) {
                batch.append("RSET\r\n");
            }
            batch.append(mail).append("\r\n");
            rcptCommands.forEach(c -> batch.append(c).append("\r\n"));
            batch.append("DATA\r\n");
            write(batch.toString(), t.mail());
            if (rset && !replies.next(SessionStage.RSET, t.helo()).positive()) {
                return false;
            }
            replies.next(SessionStage.MAIL, t.mail());
            for (int i = 0; i < rcptCommands.size(); i++) {
                replies.rcpt.add(replies.next(SessionStage.RCPT, t.rcpt()));
            }
            replies.data = replies.next(SessionStage.DATA, t.dataInit());
        } else {
            if (rset && !lockStep(replies, "RSET", SessionStage.RSET, t.helo()).positive()) {
                return false;
            }
            if (lockStep(replies, mail, SessionStage.MAIL, t.mail()).positive()) {
                for (String c : rcptCommands) {
                    replies.rcpt.add(lockStep(replies, c, SessionStage.RCPT, t.rcpt()));
                }
                if (replies.rcpt.stream().anyMatch(SmtpReply::positive)) {
                    replies.data = lockStep(replies, "DATA", SessionStage.DATA, t.dataInit());
                }
            }
        }
        return true;
    }

    /**
     * The connection broke (or the server sent something unreadable) after the server had already
     * refused for good: a 5yz to MAIL refuses every recipient, a 5yz to a RCPT that recipient, as
     * Postfix records each reply as it comes. Those refusals stand; every other recipient is
     * deferred (the caller tries the next address for them). Empty when no reply read so far was a
     * permanent refusal: the session failed as a whole, as before.
     */
    private Optional<TransactionResult> refusedBeforeTheLoss(OutboundEnvelope envelope, Replies replies, IOException e) {
        int mailAt = replies.stages.indexOf(SessionStage.MAIL);
        SmtpReply mail = mailAt < 0 ? null : replies.all.get(mailAt);
        if (mail != null && mail.permanentFailure() && transactions > 1) {
            // On a reused connection a refused MAIL and a hang-up may be the session's limit ("too many
            // messages this session"): the caller opens a fresh connection, which decides for the message.
            return Optional.empty();
        }
        // RCPT replies count only after a MAIL the server took (a pipelined RCPT after a refused MAIL gets 503).
        boolean refused = mail != null && (mail.permanentFailure() || mail.positive() && replies.rcpt.stream().anyMatch(SmtpReply::permanentFailure));
        if (!refused) {
            return Optional.empty();
        }
        SessionFailure f = lost(e); // closes the connection
        List<OutboundRecipient> rcpts = envelope.recipients();
        List<RecipientOutcome> outcomes = new ArrayList<>();
        for (int i = 0; i < rcpts.size(); i++) {
            OutboundRecipient r = rcpts.get(i);
            if (mail.permanentFailure()) {
                outcomes.add(mailRefused(envelope, r, mail));
            } else if (i < replies.rcpt.size() && replies.rcpt.get(i).permanentFailure()) {
                outcomes.add(rcptRefused(r, replies.rcpt.get(i)));
            } else {
                outcomes.add(deferred(r, f.stage(), Optional.empty(), EnhancedStatus.BAD_CONNECTION, f.detail(), false));
            }
        }
        return Optional.of(completed(outcomes));
    }

    /** After the replies up to DATA: the content, and one outcome per recipient. */
    private TransactionResult finish(OutboundEnvelope envelope, Replies replies) throws IOException {
        List<OutboundRecipient> rcpts = envelope.recipients();
        boolean dataGo = replies.data != null && replies.data.code() / 100 == 3;
        if (!replies.mail.positive()) {
            endEmptyData(dataGo);
            return completed(rcpts.stream().map(r -> mailRefused(envelope, r, replies.mail)).toList());
        }
        List<RecipientOutcome> outcomes = new ArrayList<>();
        List<Integer> accepted = new ArrayList<>();
        for (int i = 0; i < rcpts.size(); i++) {
            SmtpReply r = replies.rcpt.get(i);
            if (r.positive()) {
                accepted.add(i);
                outcomes.add(null); // decided by DATA and the final dot
            } else {
                outcomes.add(rcptRefused(rcpts.get(i), r));
            }
        }
        if (accepted.isEmpty()) {
            endEmptyData(dataGo);
            return completed(outcomes);
        }
        if (!dataGo) {
            SmtpReply data = replies.data;
            if (data.positive()) {
                broken = true; // 2yz to DATA: we cannot tell what the server expects next
            }
            // a 421 to an earlier command stands for DATA's reply too (never read): said as where it came
            SessionStage said = replies.stages.get(replies.all.indexOf(data));
            String why = said == SessionStage.DATA ? where + " refused DATA: " + data.summary()
                    : where + " closed the session at " + said.label() + ", before DATA: " + data.summary();
            for (int i : accepted) {
                outcomes.set(i, data.positive()
                        ? deferred(rcpts.get(i), SessionStage.DATA, Optional.of(data), EnhancedStatus.LOCAL_ERROR,
                                where + " answered DATA with " + data.summary() + " instead of 354", false)
                        : verdict(rcpts.get(i), SessionStage.DATA, data, why));
            }
            return completed(outcomes);
        }
        Optional<SmtpReply> fin = streamContent(envelope, accepted, outcomes);
        if (fin.isPresent()) {
            SmtpReply f = fin.get();
            needsRset = false;
            // A 1yz or 3yz to the final dot answers nothing: the session is out of step (a reply of another command,
            // or the next one), and whether the server kept the message is not known. Never sent elsewhere (RFC 1047).
            boolean outOfStep = f.code() / 100 == 1 || f.code() / 100 == 3;
            if (outOfStep) {
                broken = true;
            }
            for (int i : accepted) {
                OutboundRecipient r = rcpts.get(i);
                outcomes.set(i, f.positive()
                        ? new RecipientOutcome.Accepted(r, replies.rcpt.get(i), f, status(f), where + " said: " + f.summary())
                        : outOfStep ? deferred(r, SessionStage.FINAL_DOT, Optional.of(f), EnhancedStatus.LOCAL_ERROR, where
                                + " answered the final dot with " + f.summary() + ", which answers no final dot; the message may"
                                + " have been delivered", true)
                        : verdict(r, SessionStage.FINAL_DOT, f, where + " refused the message after its content: " + f.summary()));
            }
        }
        return completed(outcomes);
    }

    /**
     * Sends the content and the final dot and reads the reply to it. A broken connection or an
     * unreadable spool file defers the accepted recipients (filled into {@code outcomes}) and
     * returns empty; after the final dot went out, "maybe delivered" (RFC 1047).
     */
    private Optional<SmtpReply> streamContent(OutboundEnvelope envelope, List<Integer> accepted, List<RecipientOutcome> outcomes)
            throws IOException {
        List<OutboundRecipient> rcpts = envelope.recipients();
        stage = SessionStage.MESSAGE;
        rawOutput.limit(settings.timeouts().dataBlock());
        DotStuffingOutputStream data = new DotStuffingOutputStream(output);
        long read = 0;
        try (InputStream content = openSpool(envelope.content())) {
            if (block == null) {
                block = new byte[BLOCK];
            }
            for (int n; (n = readSpool(content, block)) >= 0; ) {
                read += n;
                data.write(block, 0, n);
            }
        } catch (SpoolReadException e) {
            // The server must not take a partial message: drop the connection without the final dot (§4.1.1.4).
            closeBroken();
            deferAccepted(rcpts, accepted, outcomes, SessionStage.MESSAGE, EnhancedStatus.LOCAL_ERROR, "could not read the spooled message"
                    + " after " + read + " bytes (" + e.getCause().getMessage() + "); connection to " + where + " dropped", false);
            return Optional.empty();
        } catch (IOException e) {
            if (refusedPartWay(rcpts, accepted, outcomes)) {
                return Optional.empty();
            }
            SessionFailure f = lost(e);
            deferAccepted(rcpts, accepted, outcomes, SessionStage.MESSAGE, EnhancedStatus.BAD_CONNECTION, f.detail() + " after "
                    + data.written() + " bytes of content", false);
            return Optional.empty();
        }
        try {
            data.finish();
        } catch (IOException e) {
            if (refusedPartWay(rcpts, accepted, outcomes)) {
                return Optional.empty();
            }
            SessionFailure f = lost(e);
            deferAccepted(rcpts, accepted, outcomes, SessionStage.MESSAGE, EnhancedStatus.BAD_CONNECTION, f.detail(), false);
            return Optional.empty();
        }
        try {
            stage = SessionStage.FINAL_DOT;
            input.deadline(System.nanoTime() + settings.timeouts().dataDone().toNanos());
            SmtpReply reply = reader.readFinal(); // codes that change from line to line: the last one decides, as for Postfix
            java.util.OptionalInt mixedFrom = reader.mixedFrom();
            if (mixedFrom.isPresent()) {
                broken = true; // a server that wrote its reply so is not sent another message on this connection
                LOG.warn("{} answered the final dot with lines of code {} and then {}; taken as {}, as Postfix takes such a"
                        + " reply: {}", where, mixedFrom.getAsInt(), reply.code(), reply.code(), dev.mxd.smtp.LogText.safe(reply.summary()));
            }
            if (reply.code() == 421) {
                broken = true;
            }
            return Optional.of(reply);
        } catch (IOException e) {
            SessionFailure f = lost(e);
            deferAccepted(rcpts, accepted, outcomes, SessionStage.FINAL_DOT, EnhancedStatus.BAD_CONNECTION, f.detail()
                    + "; the message went out whole and may have been delivered", true);
            return Optional.empty();
        }
    }

    /** How long a reply is waited for after the content could not be written (the server may have said why). */
    private static final Duration REFUSAL_WAIT = Duration.ofSeconds(5);

    /**
     * The content could not be written: a server that refuses a message part-way (552 for its size, 554 for its
     * content) may have said so before it hung up, and the reset that met the rest of the content leaves its reply
     * readable. A 4yz or 5yz read now decides for the accepted recipients, as Postfix reads such a "premature" reply;
     * else (nothing, or something else) the connection was lost. Either way the connection is closed.
     */
    private boolean refusedPartWay(List<OutboundRecipient> rcpts, List<Integer> accepted, List<RecipientOutcome> outcomes) {
        SmtpReply reply;
        try {
            reply = read(REFUSAL_WAIT.compareTo(settings.timeouts().dataDone()) < 0 ? REFUSAL_WAIT : settings.timeouts().dataDone());
        } catch (IOException nothing) {
            return false;
        }
        if (reply.code() / 100 != 4 && reply.code() / 100 != 5) {
            return false;
        }
        closeBroken();
        for (int i : accepted) {
            outcomes.set(i, verdict(rcpts.get(i), SessionStage.MESSAGE, reply, where + " refused the message part-way through its"
                    + " content: " + reply.summary()));
        }
        return true;
    }

    /** A spool read failure, kept apart from socket failures: it is our fault, not the server's. */
    private static final class SpoolReadException extends IOException {
        SpoolReadException(IOException cause) {
            super(cause);
        }
    }

    /** The spooled text opened: a failure (the file gone, no descriptor left) is the spool's, not the connection's. */
    private static InputStream openSpool(MessageContent content) throws SpoolReadException {
        try {
            return content.open();
        } catch (IOException e) {
            throw new SpoolReadException(e);
        }
    }

    private static int readSpool(InputStream content, byte[] block) throws SpoolReadException {
        try {
            return content.read(block);
        } catch (IOException e) {
            throw new SpoolReadException(e);
        }
    }

    private void deferAccepted(List<OutboundRecipient> rcpts, List<Integer> accepted, List<RecipientOutcome> outcomes,
                               SessionStage at, EnhancedStatus status, String detail, boolean maybeDelivered) {
        for (int i : accepted) {
            outcomes.set(i, deferred(rcpts.get(i), at, Optional.empty(), status, detail, maybeDelivered));
        }
    }

    /**
     * RFC 2920 §3.1: when every RCPT failed but the pipelined DATA still got 354, an empty message
     * ends it; a server that took it anyway has no recipient to deliver to. The refusals stand
     * whatever the server does now (nothing was accepted, so nothing can have been delivered): a
     * hang-up or a timeout here only ends the connection's use.
     */
    private void endEmptyData(boolean dataGo) {
        if (dataGo) {
            stage = SessionStage.FINAL_DOT;
            try {
                write(".\r\n", settings.timeouts().dataBlock());
                read(settings.timeouts().dataDone());
            } catch (IOException gone) {
                broken = true;
            }
        }
    }

    /** The replies of one transaction, in the order the commands went out; a 421 stands for all after it. */
    private final class Replies {
        private final List<SmtpReply> all = new ArrayList<>();
        private final List<SessionStage> stages = new ArrayList<>();
        private final List<SmtpReply> rcpt = new ArrayList<>();
        private SmtpReply mail;
        private SmtpReply data;
        private SmtpReply last;
        private SmtpReply closing;

        /**
         * The next reply. After a 421 the server closes the connection (RFC 5321 §3.8), so the
         * replies still owed are taken to be that 421, not read.
         */
        SmtpReply next(SessionStage at, Duration limit) throws IOException {
            stage = at;
            SmtpReply r = closing != null ? closing : read(limit);
            if (r.code() == 421) {
                closing = r;
                broken = true;
            }
            all.add(r);
            stages.add(at);
            last = r;
            return r;
        }

        SmtpReply first(SessionStage at) {
            return all.get(stages.indexOf(at));
        }
    }

    private SmtpReply lockStep(Replies replies, String command, SessionStage at, Duration limit) throws IOException {
        stage = at;
        if (replies.closing == null) {
            write(command + "\r\n", limit);
        }
        return replies.next(at, limit);
    }

    /** RFC 5321 §4.1.1.2 MAIL FROM with the parameters the server announced. */
    private String mailCommand(OutboundEnvelope e) {
        StringBuilder sb = new StringBuilder("MAIL FROM:<").append(e.sender()).append('>');
        if (extensions.offers("SIZE")) {
            sb.append(" SIZE=").append(e.content().size()); // RFC 1870 §3
        }
        if (e.eightBit() && extensions.offers("8BITMIME")) {
            sb.append(" BODY=8BITMIME"); // RFC 6152 §2
        }
        if (e.needsSmtputf8()) {
            sb.append(" SMTPUTF8"); // RFC 6531 §3.4; only reached when offered
        }
        if (extensions.offers("DSN")) {
            e.ret().ifPresent(r -> sb.append(" RET=").append(r.name())); // RFC 3461 §4.3
            // RFC 3461 §4.4: a sender's ENVID is at most 100 characters. One taken longer (as Postfix and Exim take them)
            // is not passed on, where a next hop that holds to the limit would refuse the MAIL and bounce the message;
            // mxd's own notices still carry it.
            e.envid().map(Xtext::encode).filter(x -> x.length() <= 100).ifPresent(x -> sb.append(" ENVID=").append(x));
        }
        if (e.requireTls()) {
            sb.append(" REQUIRETLS"); // RFC 8689 §3; only reached when offered
        }
        return sb.toString();
    }

    /**
     * The value of ORCPT (RFC 3461 §4.2): "type;" and the address in xtext. An rfc822 (or utf-8)
     * address with UTF-8 in it goes as RFC 6533 §3's utf-8 type in its ASCII form
     * (utf-8;j\x{FC}rgen@...), which every server can parse, whether or not it offers SMTPUTF8.
     * Another type (x400) goes on as it came, as RFC 3461 asks of a relay.
     */
    static String originalRecipient(String type, String address) {
        boolean mailbox = type.equalsIgnoreCase("rfc822") || type.equalsIgnoreCase("utf-8");
        if (mailbox && !address.chars().allMatch(c -> c < 0x80)) {
            return "utf-8;" + Xtext.encodeUtf8Address(address, false);
        }
        // An atom as mxd took it; anything else (an older envelope) in xtext, so that it cannot end the parameter.
        String t = mailbox ? "rfc822" : type.matches("[A-Za-z0-9!#$%&'*+/?^_`{|}~-]+") ? type : Xtext.encode(type);
        return t + ";" + Xtext.encode(address);
    }

    /** RFC 5321 §4.1.1.3 RCPT TO; NOTIFY and ORCPT only to servers that announce DSN (RFC 3461 §4). */
    private String rcptCommand(OutboundRecipient r) {
        StringBuilder sb = new StringBuilder("RCPT TO:<").append(r.address()).append('>');
        if (extensions.offers("DSN")) {
            if (!r.notifyOn().isEmpty()) {
                sb.append(" NOTIFY=").append(r.notifyOn().stream().sorted().map(Enum::name).collect(Collectors.joining(",")));
            }
            r.orcpt().ifPresent(o -> sb.append(" ORCPT=").append(originalRecipient(r.orcptType(), o)));
        }
        return sb.toString();
    }

    /** A server's 4yz defers, 5yz fails. */
    private static RecipientOutcome verdict(OutboundRecipient r, SessionStage at, SmtpReply reply, String detail) {
        return reply.permanentFailure()
                ? new RecipientOutcome.Failed(r, at, Optional.of(reply), status(reply), detail)
                : deferred(r, at, Optional.of(reply), status(reply), detail, false);
    }

    private static RecipientOutcome.Deferred deferred(OutboundRecipient r, SessionStage at, Optional<SmtpReply> reply,
                                                      EnhancedStatus status, String detail, boolean maybeDelivered) {
        return new RecipientOutcome.Deferred(r, at, reply, status, detail, maybeDelivered);
    }

    /** The reply's RFC 3463 code, or the class's "other" code X.0.0 when the server sent none (RFC 3463 §3.1). */
    private static EnhancedStatus status(SmtpReply reply) {
        // A 3yz where none belongs (354 to a RCPT) is no verdict: 4.0.0, deferred, never an exception.
        return reply.enhancedStatus().orElseGet(() -> EnhancedStatus.otherOfClass(reply.code() / 100 == 3 ? 400 : reply.code()));
    }

    private TransactionResult refuseAll(List<OutboundRecipient> rcpts, EnhancedStatus status, String detail) {
        return refuseAll(rcpts, new RecipientOutcome[rcpts.size()], status, detail);
    }

    /** Every recipient not settled yet in {@code outcomes} fails unsent with {@code status}. */
    private static TransactionResult refuseAll(List<OutboundRecipient> rcpts, RecipientOutcome[] outcomes, EnhancedStatus status,
                                               String detail) {
        return settleTheRest(rcpts, outcomes, r -> new RecipientOutcome.Failed(r, SessionStage.MAIL, Optional.empty(), status, detail));
    }

    /**
     * The outcomes, each recipient without one yet (one left out for want of SMTPUTF8 keeps its
     * 5.6.7) given {@code outcome}.
     */
    private static TransactionResult settleTheRest(List<OutboundRecipient> rcpts, RecipientOutcome[] outcomes,
                                                   Function<OutboundRecipient, RecipientOutcome> outcome) {
        for (int i = 0; i < rcpts.size(); i++) {
            if (outcomes[i] == null) {
                outcomes[i] = outcome.apply(rcpts.get(i));
            }
        }
        return completed(List.of(outcomes));
    }

    private static TransactionResult completed(List<RecipientOutcome> outcomes) {
        return new TransactionResult.Completed(outcomes);
    }

    private SessionFailure rejected(SmtpReply reply, String detail) {
        return new SessionFailure(target, host, stage, SessionFailure.Cause.REJECTED, detail, Optional.of(reply));
    }

    private SessionFailure closeRejected(SmtpReply reply, String command) {
        SessionFailure f = rejected(reply, where + " refused " + command + ": " + reply.summary());
        close();
        return f;
    }

    /** Turns an I/O failure into a session failure at the current stage and closes the connection. */
    private SessionFailure lost(IOException e) {
        SessionFailure.Cause cause;
        String what;
        if (e instanceof SocketTimeoutException) {
            cause = SessionFailure.Cause.TIMEOUT;
            what = "timed out";
        } else if (e instanceof MalformedReplyException) {
            cause = SessionFailure.Cause.PROTOCOL_ERROR;
            what = "sent a malformed reply";
        } else if (e instanceof EOFException) {
            cause = SessionFailure.Cause.CLOSED;
            what = "closed the connection";
        } else {
            cause = SessionFailure.Cause.CLOSED;
            what = "lost the connection";
        }
        closeBroken();
        return new SessionFailure(target, host, stage, cause, voice.lost(where, stage, e, what), Optional.empty());
    }

    private void write(String commands, Duration limit) throws IOException {
        rawOutput.limit(limit);
        output.write(commands.getBytes(StandardCharsets.UTF_8)); // UTF-8 only reaches SMTPUTF8 servers
        output.flush();
    }

    private SmtpReply command(String line, Duration limit) throws IOException {
        write(line + "\r\n", limit);
        return read(limit);
    }

    private SmtpReply read(Duration limit) throws IOException {
        input.deadline(System.nanoTime() + limit.toNanos());
        return reader.read();
    }

    /**
     * Asks whether the server takes {@code address} without sending a message, as Postfix's address
     * verification does: MAIL FROM:&lt;&gt; (the null sender, so that no server sends notices about
     * the probe), RCPT TO, then RSET. The session stays open for more when every step was answered
     * in step; otherwise it is closed.
     *
     * @throws IllegalStateException if the connection is not {@link #reusable()}
     */
    public RecipientProbe probeRecipient(String address) {
        if (!reusable()) {
            throw new IllegalStateException("SMTP connection to " + where + " is closed; open a new one");
        }
        OutboundEnvelope.checkPath(address, "recipient");
        boolean utf8 = OutboundEnvelope.nonAscii(address);
        if (utf8 && !extensions.offers("SMTPUTF8")) {
            return new RecipientProbe.Unanswered(where + " does not offer SMTPUTF8, which <" + address + "> needs");
        }
        try {
            stage = SessionStage.MAIL;
            SmtpReply mail = command("MAIL FROM:<>" + (utf8 ? " SMTPUTF8" : ""), settings.timeouts().mail());
            if (!mail.positive()) {
                close();
                return new RecipientProbe.Unanswered(where + " refused MAIL FROM:<>: " + mail.summary());
            }
            stage = SessionStage.RCPT;
            SmtpReply rcpt = command("RCPT TO:<" + address + ">", settings.timeouts().rcpt());
            endProbe();
            return new RecipientProbe.Answered(rcpt);
        } catch (IOException e) {
            return new RecipientProbe.Unanswered(lost(e).detail());
        }
    }

    /**
     * RSET after a probe's RCPT has its answer. A server that closes after refusing (a drop ACL, an
     * anti-harvesting limit) has still answered: the failure of RSET only ends this connection.
     */
    private void endProbe() {
        stage = SessionStage.RSET;
        try {
            if (!command("RSET", settings.timeouts().helo()).positive()) {
                close();
            }
        } catch (IOException afterTheAnswer) {
            lost(afterTheAnswer);
        }
    }

    /**
     * RSET after a transaction the server refused, to learn whether it still serves this session: a server that
     * refuses the next message of a session for a per-session limit and hangs up does not, and the refusal then says
     * nothing of the message. True when it answered 2yz; otherwise the connection is closed.
     */
    public boolean resetAnswered() {
        if (!reusable()) {
            return false;
        }
        stage = SessionStage.RSET;
        try {
            // a short wait: a server gone silent after its refusal would hold the delivery thread for the helo timeout
            Duration wait = RSET_PROBE_WAIT.compareTo(settings.timeouts().helo()) < 0 ? RSET_PROBE_WAIT : settings.timeouts().helo();
            if (command("RSET", wait).positive()) {
                needsRset = false;
                return true;
            }
            close();
        } catch (IOException e) {
            lost(e);
        }
        return false;
    }

    /** True while this session can take another {@link #send}: open, in step, and not told 421. */
    public boolean reusable() {
        return !closed && !broken;
    }

    /**
     * Whether the server sent something nobody asked for while the connection sat idle (a reply too many, a 421 on
     * its own timeout): replies read from such a session would answer the wrong commands (a 550 meant for one
     * recipient failing the next), so it is not used again. Asks without waiting; on a TLS session only what has
     * been decrypted already counts (a TLS record that arrived on its own while the connection sat idle is not seen).
     */
    public boolean sentUnasked() {
        try {
            return !closed && reader != null && reader.buffered();
        } catch (IOException e) {
            return true;
        }
    }

    /** Transactions started on this connection (including those refused before any command). */
    public int transactions() {
        return transactions;
    }

    /** Nanoseconds since this connection was initiated (before its connect, greeting and EHLO). */
    public long ageNanos() {
        return System.nanoTime() - initiated;
    }

    public SmtpReply greeting() {
        return greeting;
    }

    /** What the server announced in its last EHLO (after TLS: the EHLO over TLS); none after HELO. */
    public EhloExtensions extensions() {
        return extensions;
    }

    /** The server's reply to the last EHLO (or HELO) it accepted. */
    SmtpReply helloReply() {
        return hello;
    }

    /** False when the server refused EHLO and the session runs on HELO (no extensions). */
    public boolean esmtp() {
        return esmtp;
    }

    /** Whether the server announced DSN (RFC 3461): NOTIFY and ORCPT went with the recipients, and it sends the notices now. */
    public boolean offersDsn() {
        return extensions != null && extensions.offers("DSN");
    }

    /** The TLS protocol in use ("TLSv1.3"), empty in plain text. */
    public Optional<String> tlsProtocol() {
        return tls ? Optional.of(((SSLSocket) socket).getSession().getProtocol()) : Optional.empty();
    }

    /** The TLS session as Postfix logs it ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384"), empty in plain text. */
    public Optional<String> tlsSummary() {
        if (!tls) {
            return Optional.empty();
        }
        javax.net.ssl.SSLSession session = ((SSLSocket) socket).getSession();
        return Optional.of(session.getProtocol() + " with cipher " + session.getCipherSuite());
    }

    /** How {@code settings.authentication()} matched the server's certificate ("DANE-EE(3) ..."); empty when not checked or not matched. */
    public Optional<String> authenticated() {
        return authenticated;
    }

    /** The method ("DANE", "MTA-STS") that authenticated the server's certificate; empty when none did. */
    public Optional<String> authenticationMethod() {
        return authenticated.isPresent() ? settings.authentication().map(ServerAuthentication::method) : Optional.empty();
    }

    /** Why the server's certificate failed {@code settings.authentication()} in a session that went on (MTA-STS testing). */
    public Optional<ServerAuthentication.Rejected> unauthenticated() {
        return unauthenticated;
    }

    public InetSocketAddress target() {
        return target;
    }

    public String host() {
        return host;
    }

    /** Says QUIT when the session is in step (RFC 5321 §4.1.1.10) and closes the socket. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (!broken) {
            try {
                Duration wait = QUIT_WAIT.compareTo(settings.timeouts().helo()) < 0 ? QUIT_WAIT : settings.timeouts().helo();
                write("QUIT\r\n", wait);
                read(wait);
            } catch (IOException ignored) {
                // the mail is settled; a server that does not answer QUIT costs nothing more
            }
        }
        closeBroken();
    }

    /**
     * Closes the socket from another thread (a stop whose drain has run out): a transaction waiting on the server
     * ends with an IOException, its recipients deferred as for a broken connection. Nothing is sent.
     */
    public void abort() {
        // The TCP socket, not the TLS one: closing a TLS socket sends close_notify first, and waits for the lock a
        // thread writing the content holds (minutes, if the server stopped reading); a plain close waits for nothing and
        // ends both a read and a write in progress.
        Connect.closeQuietly(tcp);
    }

    private void closeBroken() {
        broken = true;
        closed = true;
        Connect.closeQuietly(socket);
    }

    @Override
    public String toString() {
        return where + (tls ? " (TLS)" : "") + (reusable() ? "" : " (closed)");
    }
}
