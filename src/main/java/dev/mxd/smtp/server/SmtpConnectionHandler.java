package dev.mxd.smtp.server;

import dev.mxd.config.Limits;
import dev.mxd.config.Timeouts;
import dev.mxd.mail.MessageStore;
import dev.mxd.mail.RecipientPolicy;
import dev.mxd.mail.Transaction;
import dev.mxd.smtp.DataDecoder;
import dev.mxd.smtp.LogText;
import dev.mxd.smtp.Replies;
import dev.mxd.smtp.SmtpReply;
import dev.mxd.smtp.SmtpCommand;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connects one channel to its {@link SmtpSession}: turns frames into session input and
 * session steps into replies, mode switches, TLS and storage. All of it runs on the
 * channel's event loop except {@link MessageStore.IncomingMessage#commit}, which blocks on fsync.
 * Message text goes to the store as it arrives; a message that does not end in a commit (refused
 * text, a client gone, a timeout) is discarded, so nothing of it stays behind.
 */
final class SmtpConnectionHandler extends SimpleChannelInboundHandler<Frame> {

    private static final Logger LOG = LoggerFactory.getLogger(SmtpConnectionHandler.class);

    private final String hostname;
    private final Limits limits;
    private final Timeouts timeouts;
    private final Optional<SslContext> tls;
    private final RecipientPolicy policy;
    private final MessageStore store;
    private final ExecutorService storeExecutor;
    private final ClientNameLookup names;
    private boolean named; // the client's name is settled (found, unknown or given up on): the greeting may go out
    private long greetPauseEnds; // System.nanoTime() when the greet pause is over

    private SmtpSession session;
    private SmtpFrameDecoder decoder;
    private MessageStore.IncomingMessage incoming; // the message whose text is arriving (null once it is committed)
    private byte[] staging; // the DATA decoder's buffer, reused for each message of the connection (handler runs on one event loop)
    private boolean storing;
    private boolean closing;
    private boolean hungUp; // the last reply has been sent (LastReply): no second one
    private boolean unasked; // that last reply answers no command (a timeout, a stop, room made): logged by closedAfter
    private boolean faulted; // a fault of mxd's while a message was stored: 421 after the commit's reply
    private boolean shedAfterStore; // chosen to make room while its message was being stored: 421 after the commit's reply
    private boolean delaying; // a reply waits out timeouts.error-delay; no command is read meanwhile
    private boolean verifying; // a RCPT waits for the recipient policy (a callout); no command is read meanwhile
    private boolean receivingText;
    private SessionActivity activity;
    private ClientErrors errors;
    private final RejectionListener rejections;
    private SessionLog log;
    // What the next reply answers, for the log: the stage, the command to count (null: none), and the envelope then.
    private String stage = "connect";
    private String answering;
    private boolean dataPending; // 354 went out; DATA is counted with the reply after the text
    private Optional<String> from = Optional.empty();
    private Optional<String> to = Optional.empty();
    private Optional<String> heloName = Optional.empty();
    private boolean esmtp;
    // Timers of this connection, cancelled when it closes: a pending timer holds the handler (and through
    // it the session) until it fires, so one left behind keeps a closed connection in memory for minutes.
    private io.netty.util.concurrent.ScheduledFuture<?> commandWatch;
    private io.netty.util.concurrent.ScheduledFuture<?> nameWait;
    private io.netty.util.concurrent.ScheduledFuture<?> greetWait; // the rest of the greet pause
    private io.netty.util.concurrent.ScheduledFuture<?> replyWait; // a reply held for timeouts.error-delay

    SmtpConnectionHandler(String hostname, Limits limits, Timeouts timeouts, Optional<SslContext> tls, RecipientPolicy policy,
                          MessageStore store, ExecutorService storeExecutor, RejectionListener rejections, ClientNameLookup names) {
        this.rejections = rejections;
        this.names = names;
        this.hostname = hostname;
        this.limits = limits;
        this.timeouts = timeouts;
        this.tls = tls;
        this.policy = policy;
        this.store = store;
        this.storeExecutor = storeExecutor;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        decoder = ctx.pipeline().get(SmtpFrameDecoder.class);
        session = new SmtpSession(hostname, limits, tls.isPresent(), policy, (InetSocketAddress) ctx.channel().remoteAddress(),
                () -> store.freeSpace()); // asked at MAIL only: a handler made without a store (a test's) never gets that far
        SessionActivity counted = ctx.channel().attr(SessionActivity.KEY).get();
        activity = counted != null ? counted : new SessionActivity();
        errors = new ClientErrors(limits);
        InetSocketAddress remote = (InetSocketAddress) ctx.channel().remoteAddress();
        log = new SessionLog(remote, rejections);
        watchCommands(ctx, timeouts.command().toNanos());
        if (!timeouts.greetPause().isZero()) {
            // Postscreen's trick: a first greeting line now, the last one after a pause; a client
            // that sends in between has not waited for the greeting (RFC 5321 §3.1) and is refused.
            // The name lookup runs during the pause.
            SmtpReply greeting = Replies.greeting(hostname);
            String first = greeting.code() + "-" + greeting.lines().get(0) + "\r\n";
            ctx.writeAndFlush(Unpooled.copiedBuffer(first, java.nio.charset.StandardCharsets.US_ASCII));
            greetPauseEnds = System.nanoTime() + timeouts.greetPause().toNanos();
        }
        lookUpName(ctx, remote);
    }

    /**
     * Postfix resolves the client's name before the 220: the lookup runs off the event loop (unless
     * every answer it needs is cached: then it is answered at once), and the greeting (its last
     * line, after the greet pause) goes out when it answers or after
     * {@link SmtpServer#CLIENT_NAME_WAIT}, whichever comes first (the client is {@code unknown}
     * then). A client that talks meanwhile has not waited for the greeting and is refused as
     * during the greet pause.
     */
    private void lookUpName(ChannelHandlerContext ctx, InetSocketAddress remote) {
        if (remote == null || remote.getAddress() == null) {
            named(ctx, Optional.empty());
            return;
        }
        java.util.concurrent.CompletionStage<Optional<String>> lookup;
        try {
            lookup = names.name(remote.getAddress());
        } catch (RuntimeException e) {
            LOG.debug("client name lookup failed: {}", LogText.safe(e));
            named(ctx, Optional.empty());
            return;
        }
        if (lookup instanceof java.util.concurrent.CompletableFuture<Optional<String>> known && known.isDone()
                && !known.isCompletedExceptionally()) {
            Optional<String> name = known.getNow(null); // answered already (from the cache): no timer to set and cancel
            named(ctx, name == null ? Optional.empty() : name);
            return;
        }
        var giveUp = ctx.executor().schedule(() -> named(ctx, Optional.empty()), SmtpServer.CLIENT_NAME_WAIT.toMillis(),
                TimeUnit.MILLISECONDS);
        nameWait = giveUp;
        lookup.whenComplete((name, failure) -> {
            Optional<String> found = failure == null && name != null ? name : Optional.empty();
            if (ctx.executor().inEventLoop()) {
                giveUp.cancel(false);
                named(ctx, found);
                return;
            }
            try {
                ctx.executor().execute(() -> {
                    giveUp.cancel(false);
                    named(ctx, found);
                });
            } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
                // the server is stopping; the connection goes with it
            }
        });
    }

    /** The client's name is settled: the connect line, then the greeting (once). Event loop only. */
    private void named(ChannelHandlerContext ctx, Optional<String> name) {
        if (named) {
            return;
        }
        named = true;
        if (closing || !ctx.channel().isActive()) {
            return;
        }
        session.named(name);
        log.connected(name);
        SmtpReply greeting = Replies.greeting(hostname);
        long pauseLeft = timeouts.greetPause().isZero() ? 0 : greetPauseEnds - System.nanoTime();
        if (pauseLeft <= 0) {
            greet(ctx, greeting);
        } else {
            greetWait = ctx.executor().schedule(() -> greet(ctx, greeting), pauseLeft, TimeUnit.NANOSECONDS);
        }
    }

    private void greet(ChannelHandlerContext ctx, SmtpReply greeting) {
        if (closing || !ctx.channel().isActive()) {
            return;
        }
        decoder.greeted();
        activity.progressed(); // the command timeout counts from the greeting
        ctx.writeAndFlush(Unpooled.wrappedBuffer(greeting.encode()));
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
        if (closing) {
            return;
        }
        if (frame instanceof Frame.CommandLine line) {
            activity.progressed();
            SmtpCommand command = SmtpCommand.parse(line.bytes());
            about(command);
            if (command instanceof SmtpCommand.Invalid invalid) {
                stage = SessionLog.commandName(line.bytes());
                answering = stage;
                if (stage.equals("mail")) {
                    session.mailLineRefused();
                } else if (stage.equals("rcpt")) {
                    // the refused address when it read well (its parameters did not), else none: never the
                    // transaction's first recipient
                    to = invalid.recipient();
                }
            }
            SessionStep step = session.onCommand(command);
            if (command instanceof SmtpCommand.Data && step instanceof SessionStep.Reply && decoder.hasBuffered()) {
                decoder.discardBuffered(); // the text sent after a refused DATA never runs as commands
                step = new SessionStep.Reply(Replies.TEXT_BEFORE_DATA_REPLY, true);
            } else if (command instanceof SmtpCommand.Invalid invalid && invalid.reply() == Replies.CHUNKING_NOT_OFFERED) {
                decoder.discardBuffered(); // a chunk's octets, never commands
                step = new SessionStep.Reply(invalid.reply(), true);
            }
            if (step instanceof SessionStep.Reply r && !r.close()) {
                answer(ctx, ClientErrors.junk(command), r.reply());
            } else {
                perform(ctx, step);
            }
        } else if (frame instanceof Frame.CommandTooLong) {
            activity.progressed();
            stage = "unknown";
            answering = "unknown";
            if (session.textAfterRefusedData()) {
                reply(ctx, Replies.TEXT_BEFORE_DATA_REPLY, true); // a long first line of text: what comes after it is text too
            } else {
                answer(ctx, false, Replies.LINE_TOO_LONG);
            }
        } else if (frame instanceof Frame.BareLineEnding) {
            if (receivingText) {
                stage = "end-of-data";
            }
            reply(ctx, Replies.BARE_LINE_ENDING, true);
        } else if (frame instanceof Frame.TalkedEarly) {
            if (!named) { // talked while its name was being looked up: no greeting will come
                named = true;
                log.connected(Optional.empty());
            }
            stage = "connect";
            LOG.info("{}: sent before the greeting; refused", ctx.channel().remoteAddress());
            if (!timeouts.greetPause().isZero()) {
                // the greeting's first line (220-) is out: its reply ends with a 220 line, as every line of a reply has
                // one code (RFC 5321 §4.2.1), and the refusal is the answer to what the client sent
                cancel(greetWait);
                ctx.write(Unpooled.wrappedBuffer(Replies.greeting(hostname).encode()));
            }
            reply(ctx, Replies.TALKED_BEFORE_GREETING, true);
        } else if (frame instanceof Frame.DataEnd end) {
            stage = "end-of-data";
            to = session.firstRecipient();
            receivingText = false;
            activity.receivingText(false);
            ctx.pipeline().replace(SmtpServer.IDLE, SmtpServer.IDLE, SmtpServer.noIdleTimer());
            SessionStep step = session.onData(end.outcome());
            if (!(step instanceof SessionStep.Store)) {
                discardIncoming(); // refused text: nothing of it is kept
            }
            if (step instanceof SessionStep.Reply r && !r.close()) {
                answerText(ctx, r.reply()); // a refused text counts as an error
            } else {
                perform(ctx, step);
            }
        }
    }

    private void perform(ChannelHandlerContext ctx, SessionStep step) {
        if (step instanceof SessionStep.Reply r) {
            reply(ctx, r.reply(), r.close());
        } else if (step instanceof SessionStep.BeginData d) {
            incoming = store.begin(d.transaction());
            if (staging == null) {
                staging = DataDecoder.newStaging();
            }
            decoder.startData(new DataDecoder(limits.maxMessageSize().bytes(), limits.maxDataLineLength(), limits.maxHops(),
                    limits.bareLf(), incoming, staging));
            idle(ctx, timeouts.data());
            receivingText = true;
            activity.receivingText(true);
            reply(ctx, d.reply(), false);
        } else if (step instanceof SessionStep.BeginTls t) {
            startTls(ctx, t.reply());
        } else if (step instanceof SessionStep.Store s) {
            store(ctx, s.transaction(), s.size());
        } else if (step instanceof SessionStep.AwaitRcpt a) {
            awaitRcpt(ctx, a);
        }
    }

    /**
     * A RCPT whose decision comes later (a callout to a better MX): the event loop goes on with other
     * connections; this one reads and frames nothing until the decision is there, so the replies to
     * pipelined commands after it stay in order (RFC 2920 §3.1).
     */
    private void awaitRcpt(ChannelHandlerContext ctx, SessionStep.AwaitRcpt await) {
        verifying = true;
        activity.storing(true); // waiting on this server, not idle: never the one shed under connection pressure
        decoder.pause();
        ctx.channel().config().setAutoRead(false);
        ctx.flush(); // the replies before this one go out now
        await.decision().whenComplete((decision, e) -> ctx.executor().execute(() -> {
            verifying = false;
            activity.storing(false);
            if (closing || !ctx.channel().isActive()) {
                return;
            }
            activity.progressed(); // the wait for the policy is not the client's idleness
            SessionStep next;
            try {
                next = await.then().apply(decision);
            } catch (RuntimeException bug) {
                exceptionCaught(ctx, bug); // never left paused: the session ends as on any other fault (this handler is the last)
                return;
            }
            if (next instanceof SessionStep.Reply r && !r.close()) {
                answer(ctx, false, r.reply());
            } else {
                perform(ctx, next);
            }
            ctx.flush();
            if (closing || delaying || verifying) {
                return; // delayed() resumes reading itself
            }
            ctx.channel().config().setAutoRead(ctx.channel().isWritable());
            try {
                decoder.resume();
                ctx.flush();
            } catch (Exception ex) {
                exceptionCaught(ctx, ex); // this handler is the pipeline's last: firing would reach only Netty's tail
            }
        }));
    }

    private void startTls(ChannelHandlerContext ctx, SmtpReply ready) {
        decoder.discardBuffered(); // plaintext pipelined after STARTTLS is never executed (RFC 3207 §4.2)
        SslHandler ssl = new SslHandler(tls.orElseThrow().newEngine(ctx.alloc()), true); // true: the 220 goes out in plaintext
        ctx.pipeline().addFirst(SmtpServer.TLS, ssl);
        // counted on the disconnect line as Postfix counts it (starttls=1, or 0/1 for a handshake that failed); the 220
        // goes out past reply(), so the count is kept here until the handshake's end
        String counting = answering;
        answering = null;
        ctx.writeAndFlush(Unpooled.wrappedBuffer(ready.encode()));
        ssl.handshakeFuture().addListener(f -> {
            if (log != null && counting != null) {
                log.counted(counting, f.isSuccess());
            }
            if (f.isSuccess()) {
                session.tlsStarted(tlsDetails(ssl.engine().getSession()));
            } else {
                LOG.info("{}: TLS handshake failed: {}", ctx.channel().remoteAddress(), LogText.safe(f.cause()));
                ctx.close();
            }
        });
    }

    /**
     * The TLS session as Postfix names it in the Received header: {@code TLSv1.3 with cipher
     * TLS_AES_256_GCM_SHA384 (256/256 bits)}, the bits when the suite's name says them.
     */
    static Optional<String> tlsDetails(javax.net.ssl.SSLSession s) {
        if (s == null || s.getProtocol() == null || s.getCipherSuite() == null) {
            return Optional.empty();
        }
        String suite = s.getCipherSuite();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("_(?:AES|CAMELLIA|ARIA)_(\\d{3})_").matcher(suite);
        String bits = m.find() ? " (" + m.group(1) + "/" + m.group(1) + " bits)" : suite.contains("CHACHA20") ? " (256/256 bits)" : "";
        return Optional.of(s.getProtocol() + " with cipher " + suite + bits);
    }

    /**
     * Counts a command's reply (ClientErrors) and sends it: at once, after timeouts.error-delay
     * once the session has made too many errors, or followed by 421 4.7.0 and a close at
     * limits.max-errors.
     */
    private void answer(ChannelHandlerContext ctx, boolean junk, SmtpReply reply) {
        send(ctx, errors.count(junk, reply), reply);
    }

    /** Counts the reply to a message's text ({@link ClientErrors#countText}) and sends it, as {@link #answer} a command's. */
    private void answerText(ChannelHandlerContext ctx, SmtpReply reply) {
        send(ctx, errors.countText(reply), reply);
    }

    /** Sends {@code reply} as the error count's {@code verdict} says. */
    private void send(ChannelHandlerContext ctx, ClientErrors.Verdict verdict, SmtpReply reply) {
        switch (verdict) {
            case ANSWER -> reply(ctx, reply, false);
            case DELAY -> delayed(ctx, reply);
            case DISCONNECT -> {
                LOG.info("{}: {} errors without delivering a message; closed", ctx.channel().remoteAddress(), errors.errors());
                reply(ctx, reply, false);
                reply(ctx, Replies.tooManyErrors(hostname), true);
            }
        }
    }

    /**
     * Sends {@code reply} after timeouts.error-delay without holding the event loop: reading and
     * framing stop meanwhile, so pipelined commands wait and their replies stay in order.
     */
    private void delayed(ChannelHandlerContext ctx, SmtpReply reply) {
        if (timeouts.errorDelay().isZero()) {
            reply(ctx, reply, false);
            return;
        }
        delaying = true;
        decoder.pause();
        ctx.channel().config().setAutoRead(false);
        ctx.flush(); // the replies before this one go out now
        replyWait = ctx.executor().schedule(() -> {
            delaying = false;
            if (closing || !ctx.channel().isActive()) {
                return;
            }
            reply(ctx, reply, false);
            ctx.flush();
            ctx.channel().config().setAutoRead(ctx.channel().isWritable());
            try {
                decoder.resume();
                ctx.flush();
            } catch (Exception e) {
                exceptionCaught(ctx, e); // this handler is the pipeline's last: firing would reach only Netty's tail
            }
        }, timeouts.errorDelay().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void store(ChannelHandlerContext ctx, Transaction transaction, long size) {
        storing = true;
        activity.storing(true);
        decoder.pause(); // pipelined commands wait until this message has its reply
        ctx.channel().config().setAutoRead(false);
        MessageStore.IncomingMessage message = incoming;
        incoming = null; // from here the commit owns it: it succeeds or cleans up itself
        // counted from the final dot: a commit that waited for a store thread, or for slow scans, past it stores nothing
        message.commitBy(System.nanoTime() + timeouts.finalReply().toNanos());
        CompletableFuture<MessageStore.StoreOutcome> commit;
        try {
            commit = CompletableFuture.supplyAsync(message::commit, storeExecutor);
        } catch (RuntimeException | Error noThread) {
            if (noThread instanceof java.util.concurrent.RejectedExecutionException && storeExecutor.isShutdown()) {
                // The server stops (SIGTERM) between this final dot and the connection's own shutdown: not accepted,
                // and the client hears that the service is closing (RFC 5321 §3.8), not "insufficient system storage".
                message.discard();
                storing = false;
                activity.storing(false);
                closing = true;
                reply(ctx, Replies.shuttingDown(hostname), true);
                return;
            }
            // No thread to commit on (out of threads or memory): not accepted, and the client
            // hears 452 and sends it again later, as for any other storage failure.
            commit = CompletableFuture.failedFuture(noThread);
        }
        commit.exceptionally(e -> {
                    LOG.error("storing a message from {} failed", transaction.client().remote(), e);
                    message.discard();
                    return new MessageStore.StoreOutcome.Failed(Replies.STORAGE_FAILURE);
                }).thenAccept(outcome -> ctx.executor().execute(() -> stored(ctx, transaction, size, outcome)));
    }

    private void stored(ChannelHandlerContext ctx, Transaction transaction, long size, MessageStore.StoreOutcome outcome) {
        storing = false;
        activity.storing(false);
        SmtpReply reply = session.onStored(outcome);
        ClientErrors.Verdict verdict = ClientErrors.Verdict.ANSWER;
        if (outcome instanceof MessageStore.StoreOutcome.Stored s) {
            errors.delivered();
            LOG.debug("{}: queued {} from=<{}> recipients={} size={}", transaction.client().remote(), s.queueId(),
                    LogText.safe(transaction.sender().map(Object::toString).orElse("")), transaction.recipients().size(), size);
        } else {
            verdict = errors.countText(reply); // a filter's reject is the client's error, as a refused text is
        }
        boolean waits = verdict == ClientErrors.Verdict.DELAY && !timeouts.errorDelay().isZero();
        if ((waits || verdict == ClientErrors.Verdict.DISCONNECT) && !closing && !shedAfterStore && !hungUp && ctx.channel().isActive()) {
            send(ctx, verdict, reply); // delayed (reading resumes after it) or the last reply before the close
            return;
        } // else answered now, and reading resumes below (a delay of 0 s is no delay: delayed() would only write the reply)
        reply(ctx, reply, false);
        ctx.flush();
        if (closing) {
            if (faulted && !hungUp && ctx.channel().isActive()) {
                reply(ctx, Replies.internalError(hostname), true);
            } else {
                shutdown(ctx);
            }
            return;
        }
        if (shedAfterStore && !hungUp && ctx.channel().isActive()) {
            closeUnasked(ctx, "closed for another client", Replies.shedIdle(hostname));
            return;
        }
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        try {
            decoder.resume();
            ctx.flush(); // the replies to commands pipelined behind the final dot (RFC 2920 §3.1): no read may come to flush them
        } catch (Exception e) {
            exceptionCaught(ctx, e); // this handler is the pipeline's last: firing would reach only Netty's tail
        }
    }

    /** Notes what {@code command} is, for the log lines of its reply: stage, and the envelope as the client gives it. */
    private void about(SmtpCommand command) {
        stage = SessionLog.commandName(command);
        answering = stage;
        from = session.senderText();
        to = session.firstRecipient();
        heloName = session.helo();
        esmtp = session.esmtp();
        if (command instanceof SmtpCommand.Mail m) {
            from = Optional.of(m.sender().map(Object::toString).orElse(""));
        } else if (command instanceof SmtpCommand.Rcpt r) {
            to = Optional.of(r.recipient().toString());
        } else if (command instanceof SmtpCommand.RcptPostmaster) {
            to = Optional.of("Postmaster");
        } else if (command instanceof SmtpCommand.Ehlo e) {
            heloName = Optional.of(e.domain());
            esmtp = true;
        } else if (command instanceof SmtpCommand.Helo h) {
            heloName = Optional.of(h.domain());
            esmtp = false;
        }
    }

    /** Logs a refusal and counts the command it answers (SessionLog). */
    private void logged(SmtpReply reply) {
        if (log == null) {
            return;
        }
        if (reply.code() >= 400 && !unasked) {
            log.rejected(stage, reply, from, to, esmtp, heloName);
        }
        if (answering != null) {
            if (reply.code() == 354) {
                dataPending = true;
            } else {
                log.counted(answering, reply.code() < 400);
            }
            answering = null;
        } else if (dataPending && stage.equals("end-of-data")) {
            log.counted("data", reply.code() < 400);
            dataPending = false;
        }
    }

    private void reply(ChannelHandlerContext ctx, SmtpReply reply, boolean close) {
        logged(reply);
        if (close) {
            closing = true;
            hungUp = true;
            decoder.close();
            // The session stops counting against the connection limits with its last reply: at once when nothing of the
            // client's is waiting to be written ahead of it (the reply goes straight to the socket, and the client may
            // read it and connect again before a listener runs), else once it is written. A client that does not read
            // its replies thus holds its slot until the reply is out or the socket closed (below: at once when released
            // early and the socket does not take the reply).
            ChannelHandler limiting = ctx.pipeline().get(SmtpServer.LIMITER);
            if (limiting instanceof ConnectionLimiter limiter) {
                ctx.flush(); // replies written before this one go first: what stays pending is what the socket did not take
                io.netty.channel.ChannelOutboundBuffer pending = ctx.channel().unsafe().outboundBuffer();
                boolean early = pending != null && pending.totalPendingWriteBytes() == 0 && ctx.channel().isWritable();
                if (early) {
                    limiter.lastReply(ctx.channel());
                }
                io.netty.channel.ChannelFuture written = LastReply.send(ctx, reply, () -> limiter.lastReply(ctx.channel()));
                if (early && !written.isDone()) {
                    // The socket did not take even this short reply (the client's window is shut: it does not read). No
                    // longer counted, the session may not linger for LastReply's deadline: closed now.
                    ctx.channel().close();
                }
            } else {
                LastReply.send(ctx, reply);
            }
        } else {
            ctx.write(Unpooled.wrappedBuffer(reply.encode()));
        }
    }

    private void discardIncoming() {
        if (incoming != null) {
            incoming.discard();
            incoming = null;
        }
    }

    /** A client gone in the middle of DATA (or closed for a timeout, a bare LF, a stop) leaves nothing behind. */
    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancel(commandWatch);
        cancel(nameWait);
        cancel(greetWait);
        cancel(replyWait);
        discardIncoming();
        if (log != null) {
            if (dataPending) {
                log.counted("data", false); // gone before the reply to its message
                dataPending = false;
            }
            if (!hungUp && session != null) {
                log.lost(stage); // gone without QUIT and without a last reply of mxd's
            }
            log.disconnected();
        }
        super.channelInactive(ctx);
    }

    private static void cancel(java.util.concurrent.Future<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    /**
     * Back-pressure: while the client leaves replies unread (more than the channel's write buffer
     * high-water mark, 64 KB), mxd reads nothing more from it; reading resumes when it catches up.
     */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        boolean writable = ctx.channel().isWritable();
        if (!storing && !closing && !delaying && !verifying) {
            ctx.channel().config().setAutoRead(writable);
            if (writable) {
                decoder.writable();
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush(); // RFC 2920: replies to a pipelined group may go out together
        ctx.fireChannelReadComplete();
    }

    /** Replaces the idle timer: commands and message text have different limits (RFC 5321 §4.5.3.2). */
    private void idle(ChannelHandlerContext ctx, Duration timeout) {
        ctx.pipeline().replace(SmtpServer.IDLE, SmtpServer.IDLE, new IdleStateHandler(timeout.toMillis(), 0, 0, TimeUnit.MILLISECONDS));
    }

    /**
     * The command timeout: a session must complete a command within timeouts.command of the
     * previous one (RFC 5321 §4.5.3.2.7); bytes that complete nothing do not extend it, so a
     * client trickling a byte at a time is closed like a silent one. Message text has its own
     * idle timer (timeouts.data), and a message being stored waits for its reply.
     */
    private void watchCommands(ChannelHandlerContext ctx, long inNanos) {
        commandWatch = ctx.executor().schedule(() -> {
            if (closing || !ctx.channel().isActive()) {
                return;
            }
            long limit = timeouts.command().toNanos();
            long idle = activity.idleNanos(System.nanoTime());
            if (receivingText || storing || delaying || verifying || idle < limit) {
                watchCommands(ctx, receivingText || storing || delaying || verifying ? limit : limit - idle);
                return;
            }
            LOG.debug("{}: no command completed in {} ms", ctx.channel().remoteAddress(), idle / 1_000_000);
            closeUnasked(ctx, "timeout", Replies.timeout(hostname));
        }, inNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && !storing && !closing) {
            closeUnasked(ctx, "timeout", Replies.timeout(hostname));
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    /** The server stops: 421 now, or right after the reply to a message being stored. Event loop only. */
    void shutdown(ChannelHandlerContext ctx) {
        if (session == null) {
            return; // never started: the limiter refused it, and its 421 is its last reply
        }
        closing = true;
        if (!storing && !hungUp && ctx.channel().isActive()) {
            closeUnasked(ctx, "shutdown", Replies.shuttingDown(hostname));
        }
    }

    /** The last reply, 421, when no command asked for one; logged as Postfix's "timeout after RCPT from …". */
    private void closeUnasked(ChannelHandlerContext ctx, String why, SmtpReply reply) {
        if (log != null) {
            log.closedAfter(why, stage, reply);
        }
        unasked = true;
        reply(ctx, reply, true);
    }

    /** Closed to make room for a new client (ConnectionLimiter): 421 4.4.2 unless a message is being stored. Event loop only. */
    void shed(ChannelHandlerContext ctx) {
        if (session == null || closing || !ctx.channel().isActive()) {
            return;
        }
        if (storing) {
            // It sent its final dot after it was chosen: the limiter no longer counts it, so it goes right after its reply.
            shedAfterStore = true;
            return;
        }
        closeUnasked(ctx, "closed for another client", Replies.shedIdle(hostname));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable root = cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        boolean fault = root instanceof Error || (root instanceof RuntimeException && !(root instanceof io.netty.handler.codec.CodecException));
        if (!fault) { // the connection's trouble (reset, a TLS record that is none): the client's side
            LOG.debug("{}: {}", ctx.channel().remoteAddress(), LogText.safe(cause));
            ctx.close();
            return;
        }
        // A fault of mxd's (a bug): said where an operator looks, and the client told to come back rather than cut
        // off without a reply (it would send the same text into the same fault until its queue lifetime ended).
        LOG.error("{}: internal error, session closed with 421: {}", ctx.channel().remoteAddress(), LogText.safe(root), root);
        if (storing) {
            // The commit's own reply is owed first (a 250 never sent would make the client send the message again):
            // stored() sends it, then the 421, and closes.
            closing = true;
            faulted = true;
        } else if (!hungUp && ctx.channel().isActive()) {
            reply(ctx, Replies.internalError(hostname), true);
        } else {
            ctx.close();
        }
    }
}
