package dev.mxd.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mxd.testing.AdminHttp;
import dev.mxd.testing.TestMx;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the admin listener says of the process rather than the mail (issue 15, point 8): JVM
 * memory, garbage collection and threads, the uptime and the spool's free space on
 * {@code /metrics}, and {@code /health} naming the SMTP listeners as an operator writes them.
 */
class ProcessMetricsTest {

    private TestMx mx;
    private AdminHttp api;

    @BeforeEach
    void start() throws Exception {
        mx = TestMx.startWithAdmin("");
        api = new AdminHttp(mx);
    }

    @AfterEach
    void stop() {
        mx.close();
    }

    @Test
    void metricsExportTheJvmTheUptimeAndTheSpoolsFreeSpace() throws Exception {
        AdminHttp.Answer scrape = api.get("/metrics");
        assertThat(scrape.status()).isEqualTo(200);
        String text = scrape.body();
        assertThat(text)
                .containsPattern("(?m)^jvm_memory_used_bytes\\{area=\"heap\",id=\"[^\"]+\"} [0-9.E]+$")
                .containsPattern("(?m)^jvm_memory_max_bytes\\{area=\"heap\",")
                .containsPattern("(?m)^jvm_gc_(memory_allocated_bytes_total|max_data_size_bytes|live_data_size_bytes) ")
                .containsPattern("(?m)^jvm_threads_live_threads [0-9.E]+$")
                .containsPattern("(?m)^jvm_threads_states_threads\\{state=\"runnable\"} ")
                .containsPattern("(?m)^jvm_classes_loaded_classes ")
                .containsPattern("(?m)^process_cpu_usage ")
                .containsPattern("(?m)^process_start_time_seconds [0-9.E]+$");
        assertThat(value(text, "process_uptime_seconds")).isPositive();
        assertThat(value(text, "jvm_threads_live_threads")).isGreaterThan(1);
        double free = value(text, "mxd_spool_free_bytes");
        double total = value(text, "mxd_spool_total_bytes");
        assertThat(free).isPositive().isLessThanOrEqualTo(total);
    }

    @Test
    void healthNamesTheListenerAsAddressAndPort() throws Exception {
        AdminHttp.Answer h = api.send("GET", "/health", null);
        assertThat(h.json().path("checks").path("smtp").path("detail").asText())
                .isEqualTo("listening on 127.0.0.1:" + mx.smtp().getPort());
    }

    @Test
    void addressesAreWrittenWithoutASlashAndIpv6InBrackets() throws Exception {
        assertThat(HealthProbes.addresses(List.of(new InetSocketAddress(InetAddress.getByName("127.0.0.20"), 3225),
                new InetSocketAddress(InetAddress.getByName("::1"), 25),
                new InetSocketAddress(InetAddress.getByName("2001:db8:0:0:0:0:0:25"), 2525))))
                .isEqualTo("127.0.0.20:3225, [::1]:25, [2001:db8::25]:2525");
        assertThat(HealthProbes.addresses(List.of())).isEqualTo("nothing");
    }

    /** The value of an unlabelled sample. */
    private static double value(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.E+-]+)$").matcher(text);
        assertThat(m.find()).as("%s in%n%s", name, text).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
