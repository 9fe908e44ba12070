package dev.mxd.filter;

import dev.mxd.config.Engine;
import java.util.Optional;

/** One engine client. Implementations never throw for engine trouble: they return {@link EngineResult.Unavailable}. */
public interface ScanEngine {

    Engine engine();

    /** Scans the message, reading it from {@code message} as a stream, within the client's timeout. */
    EngineResult scan(MessageSource message, ScanEnvelope envelope);

    /**
     * Asks the engine whether it is there, with its own cheapest request (clamd and spamd PING, Rspamd
     * {@code GET /ping}), within the client's timeout: empty when it answered as it should, else why not.
     * /health asks this every few seconds (docs/operations.md).
     */
    Optional<EngineResult.Unavailable> ping();
}
