package dev.mxd.testing;

import dev.mxd.queue.QueueState;
import dev.mxd.queue.Spool;
import java.nio.charset.StandardCharsets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What a spool directory holds that is not part of an accepted message (docs/spool.md): each is a leak. */
public final class SpoolFiles {

    private SpoolFiles() {}

    /**
     * Files in {@code tmp/}, unfinished envelopes ({@code STATE/ID.json.new}), filter rewrites
     * left in {@code data/}, and text in {@code data/} whose envelope is in no state directory
     * (spare files kept for later texts are none of these).
     */
    public static List<Path> strays(Path spool) throws IOException {
        List<Path> out = new ArrayList<>(list(spool.resolve("tmp")));
        for (QueueState q : QueueState.values()) {
            for (Path f : list(spool.resolve(q.directory()))) {
                if (!f.getFileName().toString().endsWith(".json")) {
                    out.add(f);
                }
            }
        }
        for (Path f : list(spool.resolve("data"))) {
            if (Spool.isSpare(f)) {
                continue; // a finished text's file kept for a later one (bounded), not a message's part
            }
            String id = f.getFileName().toString();
            boolean enveloped = false;
            for (QueueState q : QueueState.values()) {
                enveloped |= Files.exists(spool.resolve(q.directory()).resolve(id + ".json"));
            }
            if (!enveloped) {
                out.add(f);
            }
        }
        return out;
    }

    /** The spooled text of message {@code id}: the first {@code size} octets of its file, as its envelope says. */
    public static String text(Spool spool, String id) throws IOException {
        QueueState state = spool.state(id).orElseThrow(() -> new IOException("no message " + id + " in " + spool.root()));
        long size = spool.envelope(state, id).size();
        byte[] all = Files.readAllBytes(spool.text(id));
        return new String(all, 0, (int) size, StandardCharsets.UTF_8);
    }

    private static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
