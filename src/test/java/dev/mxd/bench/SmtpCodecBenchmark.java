package dev.mxd.bench;

import dev.mxd.smtp.DataDecoder;
import dev.mxd.smtp.SmtpCommand;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The receiving side's per-message CPU outside the disk (bench/jmh.sh): parsing the commands of
 * one SMTP transaction, and decoding DATA (dot-unstuffing, line limits, end marker). DATA is
 * reported as messages per second of {@code size} octets; bench/jmh.sh turns it into MB/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class SmtpCodecBenchmark {

    /** The commands of one relayed message with DSN and SIZE parameters, as they arrive. */
    private static final byte[][] TRANSACTION = {
        bytes("EHLO client.example.test"),
        bytes("MAIL FROM:<sender.name@client.example.test> SIZE=4096 BODY=8BITMIME RET=HDRS ENVID=QQ314159"),
        bytes("RCPT TO:<user@sink.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;user@sink.test"),
        bytes("DATA"),
        bytes("QUIT"),
    };

    /** Message text as the client sends it: short lines, every tenth one dot-stuffed. */
    @State(Scope.Thread)
    public static class Text {

        @Param({"4096", "1048576"})
        public int size;

        byte[] wire;

        @Setup(Level.Trial)
        public void setUp() {
            StringBuilder b = new StringBuilder("From: a@client.test\r\nTo: user@sink.test\r\nSubject: bench\r\n\r\n");
            int n = 0;
            while (b.length() < size - 3) {
                b.append(n++ % 10 == 0 ? ".." : "").append("The quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n");
            }
            b.append(".\r\n");
            wire = b.toString().getBytes(StandardCharsets.US_ASCII);
        }
    }

    @Benchmark
    public void parseTransactionCommands(Blackhole bh) {
        for (byte[] line : TRANSACTION) {
            bh.consume(SmtpCommand.parse(line));
        }
    }

    @Benchmark
    public Object decodeData(Text text, Blackhole bh) {
        byte[] wire = text.wire;
        DataDecoder d = new DataDecoder(64L << 20, 65536, (buf, off, len) -> bh.consume(len));
        // as Netty hands it over: reads of up to 16 KB
        for (int off = 0; off < wire.length; ) {
            off += d.feed(wire, off, Math.min(16 * 1024, wire.length - off));
            if (d.outcome().isPresent()) {
                break;
            }
        }
        return d.outcome();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
