package dev.mxd.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One message as smtp-sink -d dumped it (smtp-sink(1), "DUMP FILE FORMAT"): its own X-Client-Addr,
 * X-Helo-Args, X-Mail-Args, X-Rcpt-Args records and a three-line Received header, then the message
 * as received with dots unstuffed and LF line ends, then one empty line.
 *
 * @param file          the dump file
 * @param records       smtp-sink's own header lines, Received included
 * @param messageOffset where the message starts in the file
 * @param messageLength the message's length in the file (LF line ends)
 */
public record SinkDump(Path file, List<String> records, long messageOffset, long messageLength) {

    private static final int MAX_RECORDS = 1000;

    public static SinkDump read(Path file) throws IOException {
        List<String> records = new ArrayList<>();
        long offset = 0;
        int receivedLines = -1;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            while (records.size() < MAX_RECORDS && receivedLines != 0) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                for (int b; (b = in.read()) != '\n'; ) {
                    if (b < 0) {
                        throw new IOException(file + " ends inside smtp-sink's header records: not a complete dump");
                    }
                    line.write(b);
                }
                offset += line.size() + 1;
                String text = line.toString(StandardCharsets.UTF_8);
                records.add(text);
                if (text.startsWith("Received: ")) {
                    receivedLines = 2;
                } else if (receivedLines > 0) {
                    receivedLines--;
                }
            }
        }
        long length = Files.size(file) - offset - 1; // the dump ends with one empty line of its own
        return new SinkDump(file, List.copyOf(records), offset, length);
    }

    /** The dumped messages in a directory, oldest first, once {@code count} are complete (at most 10 s). */
    public static List<SinkDump> await(Path dir, int count) throws IOException, InterruptedException {
        List<List<SinkDump>> last = new ArrayList<>(List.of(List.of()));
        Await.within(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
            List<SinkDump> dumps = new ArrayList<>();
            boolean complete = true;
            // smtp-sink makes the directory with the first dump; a relay in between may take a while.
            try (Stream<Path> files = Files.isDirectory(dir) ? Files.list(dir) : Stream.empty()) {
                for (Path f : files.sorted().toList()) {
                    try {
                        dumps.add(read(f));
                    } catch (IOException partial) {
                        complete = false;
                    }
                }
            }
            last.set(0, dumps);
            return complete && dumps.size() >= count;
        });
        return last.get(0);
    }

    /** How many dump files in {@code dir} (none yet: 0) contain {@code marker}, complete or still being written. */
    public static long countWith(Path dir, String marker) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> {
                try {
                    return Files.readString(f, StandardCharsets.ISO_8859_1).contains(marker);
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        }
    }

    /** The X- record's value, e.g. "X-Mail-Args" → "&lt;a@x.test&gt; SIZE=12". */
    public List<String> record(String name) {
        return records.stream().filter(r -> r.startsWith(name + ": ")).map(r -> r.substring(name.length() + 2)).toList();
    }

    /** The message bytes as dumped; for small messages (large ones: {@link #openMessage()}). */
    public byte[] message() throws IOException {
        try (InputStream in = openMessage()) {
            return in.readAllBytes();
        }
    }

    /** The message as a stream, without loading it. */
    public InputStream openMessage() throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file));
        in.skipNBytes(messageOffset);
        return new java.io.FilterInputStream(in) {
            private long left = messageLength;

            @Override
            public int read() throws IOException {
                if (left <= 0) {
                    return -1;
                }
                left--;
                return super.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = super.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }
        };
    }
}
