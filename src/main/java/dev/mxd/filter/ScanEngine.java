package dev.mxd.filter;

/** One engine client. Implementations never throw for engine trouble: they return {@link EngineResult.Unavailable}. */
public interface ScanEngine {

    Engine engine();

    /** Scans the message, reading it from {@code message} as a stream, within the client's timeout. */
    EngineResult scan(MessageSource message, ScanEnvelope envelope);
}
