package dev.mxd.filter;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quarantine's store, list, show, release and delete round trip on a real directory. */
class QuarantineTest {

    @TempDir
    Path dataDir;

    static final byte[] TEXT = "Subject: offer\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    QuarantineEntry store(Quarantine q, String queueId, Instant arrival) throws Exception {
        ScanEnvelope env = ScanEnvelope.of(queueId, "a@x.test", List.of("b@example.test", "c@example.test"));
        List<EngineResult> results = List.of(new EngineResult.Scored(Engine.SPAMD, 1003.7, 5, true, List.of("GTUBE"),
                java.util.Optional.empty()));
        return q.store(MessageSource.of(TEXT), env, "spam score 1003.7", results, arrival);
    }

    @Test
    void storedEntryIsListedShownAndItsTextKept() throws Exception {
        Quarantine q = new Quarantine(dataDir);
        QuarantineEntry e = store(q, "Q1", Instant.parse("2026-11-26T05:23:00.123Z"));
        assertThat(e.id()).matches("20261126T052300123Z-[0-9a-f]{8}");
        assertThat(e.size()).isEqualTo(TEXT.length);
        assertThat(e.verdicts()).containsExactly("spamd: score 1003.7 / 5.0");
        assertThat(q.find(e.id())).contains(e);
        assertThat(Files.readAllBytes(q.messageFile(e.id()))).isEqualTo(TEXT);
        assertThat(dataDir.resolve("quarantine/tmp")).isEmptyDirectory();
        assertThat(q.list(0, 10)).isEqualTo(new Quarantine.Page(List.of(e), 1));
    }

    @Test
    void listIsNewestFirstAndPaged() throws Exception {
        Quarantine q = new Quarantine(dataDir);
        QuarantineEntry old = store(q, "Q1", Instant.parse("2026-11-01T00:00:00Z"));
        QuarantineEntry mid = store(q, "Q2", Instant.parse("2026-11-02T00:00:00Z"));
        QuarantineEntry fresh = store(q, "Q3", Instant.parse("2026-11-03T00:00:00Z"));
        assertThat(q.list(0, 2).entries()).containsExactly(fresh, mid);
        assertThat(q.list(2, 2)).isEqualTo(new Quarantine.Page(List.of(old), 3));
    }

    @Test
    void releaseTakesItOutOnceAndForgetRemovesIt() throws Exception {
        Quarantine q = new Quarantine(dataDir);
        QuarantineEntry e = store(q, "Q1", Instant.now());
        Quarantine.Released r = q.release(e.id()).orElseThrow();
        assertThat(r.entry().recipients()).containsExactly("b@example.test", "c@example.test");
        assertThat(r.entry().sender()).isEqualTo("a@x.test");
        assertThat(Files.readAllBytes(r.messageFile())).isEqualTo(TEXT);
        assertThat(q.list(0, 10).total()).isZero();
        assertThat(q.release(e.id())).isEmpty();
        assertThat(q.pendingReleases()).containsExactly(r);
        q.forget(r);
        assertThat(q.pendingReleases()).isEmpty();
        assertThat(r.messageFile()).doesNotExist();
    }

    @Test
    void deleteRemovesBothFiles() throws Exception {
        Quarantine q = new Quarantine(dataDir);
        QuarantineEntry e = store(q, "Q1", Instant.now());
        assertThat(q.delete(e.id())).isTrue();
        assertThat(q.delete(e.id())).isFalse();
        assertThat(q.find(e.id())).isEmpty();
        try (var files = Files.list(dataDir.resolve("quarantine"))) {
            assertThat(files.filter(Files::isRegularFile)).isEmpty();
        }
    }

    @Test
    void idsThatAreNotIdsFindNothing() throws Exception {
        Quarantine q = new Quarantine(dataDir);
        assertThat(q.find("../../etc/passwd")).isEmpty();
        assertThat(q.delete("../x")).isFalse();
        assertThat(q.list(0, 5).total()).isZero(); // no directory yet
    }
}
