package dev.mxd.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mxd.smtp.DataDecoder;
import dev.mxd.smtp.DataOutcome;
import java.util.Optional;

/**
 * Jazzer target: the DATA decoder, fed arbitrary bytes in arbitrary pieces with arbitrary limits,
 * never throws, never consumes more than it was given nor anything after its outcome, never
 * passes on more text than it consumed, and keeps its outcome once it has one.
 */
public final class DataDecoderFuzzer {

    private DataDecoderFuzzer() {}

    public static void fuzzerTestOneInput(FuzzedDataProvider data) {
        long maxSize = data.consumeLong(0, 1 << 16);
        int maxLine = data.consumeInt(1000, 4096);
        long[] written = new long[1];
        DataDecoder d = new DataDecoder(maxSize, maxLine, (b, off, len) -> written[0] += len);
        long consumed = 0;
        Optional<DataOutcome> first = Optional.empty();
        for (int i = 0; i < 64 && data.remainingBytes() > 0; i++) {
            byte[] piece = data.consumeBytes(data.consumeInt(1, 512));
            int n = d.feed(piece, 0, piece.length);
            if (n < 0 || n > piece.length) {
                throw new AssertionError("feed consumed " + n + " of " + piece.length);
            }
            if (first.isPresent() && n != 0) {
                throw new AssertionError("consumed " + n + " octets after the outcome " + first.get());
            }
            consumed += n;
            if (first.isPresent() && !d.outcome().equals(first)) {
                throw new AssertionError("outcome changed from " + first.get() + " to " + d.outcome());
            }
            first = d.outcome();
        }
        if (written[0] > consumed) {
            throw new AssertionError(written[0] + " octets of text from " + consumed + " consumed");
        }
    }
}
