package dev.mxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/** Issue 15 point 2: a client's name is its PTR name only when that name's addresses include the client's (FCrDNS). */
class ForwardConfirmedNamesTest {

    private static final InetAddress CLIENT = address("192.0.2.7");

    /** A DNS that answers from a table, counts the questions and lets each take {@code cost} of the fake clock. */
    private static final class Table implements ForwardConfirmedNames.Questions {
        final Map<String, DnsAnswer> answers = new HashMap<>();
        final List<String> asked = new ArrayList<>();
        final AtomicLong now = new AtomicLong();
        long cost;

        @Override
        public DnsAnswer ask(Name name, int type, long deadline) {
            asked.add(name + " " + Type.string(type));
            now.addAndGet(cost);
            if (now.get() - deadline > 0) {
                return new DnsAnswer.Failed(name, List.of(), "timed out");
            }
            // DNS names compare without regard to case
            return answers.getOrDefault(name.toString().toLowerCase(java.util.Locale.ROOT) + " " + Type.string(type),
                    new DnsAnswer.NoSuchName(name, List.of()));
        }

        Table ptr(InetAddress a, String... targets) {
            Name reverse = ReverseMap.fromAddress(a);
            List<Record> rs = new ArrayList<>();
            for (String t : targets) {
                rs.add(new PTRRecord(reverse, DClass.IN, 300, name(t)));
            }
            answers.put(reverse + " PTR", new DnsAnswer.Found(reverse, List.of(), rs));
            return this;
        }

        Table forward(String host, String... addresses) {
            List<Record> rs = new ArrayList<>();
            boolean v6 = false;
            for (String a : addresses) {
                InetAddress ip = address(a);
                v6 = a.contains(":");
                rs.add(v6 ? new AAAARecord(name(host), DClass.IN, 300, ip) : new ARecord(name(host), DClass.IN, 300, ip));
            }
            answers.put(name(host) + (v6 ? " AAAA" : " A"), new DnsAnswer.Found(name(host), List.of(), rs));
            return this;
        }

        /** The questions whose answers are cached ("name TYPE"); {@link #names}' cache-only questions see only these. */
        final java.util.Set<String> cached = new java.util.HashSet<>();

        ForwardConfirmedNames names() {
            return new ForwardConfirmedNames(this, (name, type, deadline) -> {
                String key = name.toString().toLowerCase(java.util.Locale.ROOT) + " " + Type.string(type);
                return cached.contains(key) ? answers.getOrDefault(key, new DnsAnswer.NoSuchName(name, List.of())) : null;
            }, now::get, Duration.ofSeconds(5));
        }
    }

    private static InetAddress address(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static Name name(String text) {
        try {
            return Name.fromString(text.endsWith(".") ? text : text + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void aPtrNameWhoseAddressesIncludeTheClientsIsItsName() {
        Table dns = new Table().ptr(CLIENT, "Mail.Client.TEST.").forward("mail.client.test", "198.51.100.1", "192.0.2.7");
        assertThat(dns.names().name(CLIENT)).contains("mail.client.test");
    }

    @Test
    void aPtrNameThatDoesNotLeadBackIsNoName() {
        Table dns = new Table().ptr(CLIENT, "www.bank.test").forward("www.bank.test", "203.0.113.9");
        assertThat(dns.names().name(CLIENT)).isEmpty();
        assertThat(new Table().ptr(CLIENT, "gone.client.test").names().name(CLIENT)).as("PTR name without A").isEmpty();
    }

    @Test
    void noPtrOrAFailingDnsIsNoName() {
        assertThat(new Table().names().name(CLIENT)).as("NXDOMAIN").isEmpty();
        Table servfail = new Table().forward("mail.client.test", "192.0.2.7");
        Name reverse = ReverseMap.fromAddress(CLIENT);
        servfail.answers.put(reverse + " PTR", new DnsAnswer.Failed(reverse, List.of(), "SERVFAIL"));
        assertThat(servfail.names().name(CLIENT)).as("SERVFAIL").isEmpty();
        Table nodata = new Table().forward("mail.client.test", "192.0.2.7");
        nodata.answers.put(reverse + " PTR", new DnsAnswer.NoData(reverse, List.of()));
        assertThat(nodata.names().name(CLIENT)).as("NODATA").isEmpty();
        Table forwardFails = new Table().ptr(CLIENT, "mail.client.test");
        forwardFails.answers.put(name("mail.client.test") + " A", new DnsAnswer.Failed(name("mail.client.test"), List.of(), "SERVFAIL"));
        assertThat(forwardFails.names().name(CLIENT)).as("forward SERVFAIL").isEmpty();
    }

    /** A client that connects again is named from the cache on the spot, the same way, without a question asked. */
    @Test
    void aNameWhoseAnswersAreAllCachedIsFoundWithoutAsking() {
        Table dns = new Table().ptr(CLIENT, "mail.client.test").forward("mail.client.test", "192.0.2.7");
        String ptr = ReverseMap.fromAddress(CLIENT).toString().toLowerCase(java.util.Locale.ROOT) + " PTR";
        assertThat(dns.names().cachedName(CLIENT)).as("nothing cached: must be asked").isEmpty();
        dns.cached.add(ptr);
        assertThat(dns.names().cachedName(CLIENT)).as("the forward answer is not cached").isEmpty();
        dns.cached.add("mail.client.test. A");
        assertThat(dns.names().cachedName(CLIENT)).contains(java.util.Optional.of("mail.client.test"));
        assertThat(dns.asked).as("the cache-only lookups asked nobody").isEmpty();

        Table wrong = new Table().ptr(CLIENT, "www.bank.test").forward("www.bank.test", "203.0.113.9");
        wrong.cached.addAll(List.of(ptr, "www.bank.test. A"));
        assertThat(wrong.names().cachedName(CLIENT)).as("cached, and not confirmed").contains(java.util.Optional.empty());
        Table none = new Table();
        none.cached.add(ptr);
        assertThat(none.names().cachedName(CLIENT)).as("a cached NXDOMAIN").contains(java.util.Optional.empty());
        assertThat(wrong.asked).isEmpty();
        assertThat(none.asked).isEmpty();
    }

    @Test
    void theLookupEndsAtItsDeadline() {
        Table slow = new Table().ptr(CLIENT, "a.client.test", "b.client.test", "mail.client.test").forward("mail.client.test", "192.0.2.7");
        slow.cost = Duration.ofSeconds(2).toNanos(); // PTR at 2 s, a at 4 s, b at 6 s: past the 5 s bound
        assertThat(slow.names().name(CLIENT)).isEmpty();
        assertThat(slow.asked).hasSizeLessThanOrEqualTo(3);
    }

    @Test
    void ofSeveralPtrNamesTheFirstConfirmedOneCountsAndAtMostFourAreAsked() {
        Table dns = new Table().ptr(CLIENT, "spoof.bank.test", "mail.client.test", "other.client.test")
                .forward("spoof.bank.test", "203.0.113.9").forward("mail.client.test", "192.0.2.7")
                .forward("other.client.test", "192.0.2.7");
        assertThat(dns.names().name(CLIENT)).contains("mail.client.test");

        Table many = new Table().ptr(CLIENT, "n1.test", "n2.test", "n3.test", "n4.test", "n5.test").forward("n5.test", "192.0.2.7");
        assertThat(many.names().name(CLIENT)).isEmpty();
        assertThat(many.asked).hasSize(1 + ForwardConfirmedNames.MAX_NAMES);
    }

    @Test
    void onlyHostNamesCountAndIpv6IsCheckedWithAaaa() {
        Table odd = new Table().ptr(CLIENT, "192.0.2.7", "under_score.client.test").forward("192.0.2.7", "192.0.2.7")
                .forward("under_score.client.test", "192.0.2.7");
        assertThat(odd.names().name(CLIENT)).isEmpty();

        InetAddress v6 = address("2001:db8::25");
        Table dns = new Table().ptr(v6, "mx.v6.test").forward("mx.v6.test", "2001:db8::25");
        assertThat(dns.names().name(v6)).contains("mx.v6.test");
        assertThat(dns.asked).contains("mx.v6.test. AAAA");
    }
}
