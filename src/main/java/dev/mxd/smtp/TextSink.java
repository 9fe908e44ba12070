package dev.mxd.smtp;

/**
 * Where {@link DataDecoder} puts message text as it decodes it, so that the text never has to
 * be held whole in memory. A sink that fails (a full disk) remembers the failure and reports it
 * when the message is finished; it must not throw, because the rest of the text still has to
 * be read to stay in step with the client.
 */
@FunctionalInterface
public interface TextSink {

    /** Appends {@code b[off..off+len)} to the text. */
    void write(byte[] b, int off, int len);
}
