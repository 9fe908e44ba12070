package dev.mxd.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One domain mxd receives mail for. Mailbox names become directory names under the data
 * directory, so they are restricted to a safe alphabet and compared in lowercase.
 *
 * @param role      local (final destination) or backup (lower-priority MX)
 * @param mailboxes the local parts that exist; for backup, empty means every recipient is accepted
 * @param aliases   local part to one or more mailboxes of this domain
 * @param catchAll  the mailbox that receives mail for unknown local parts, if any
 * @param filter    the gateway filter for this domain's mail (issue 7); none: accepted unscanned
 * @param verify    for a backup domain, how recipients are verified at RCPT: none, the list of mailboxes, or a
 *                  callout to a better MX; always list for a local domain
 * @param postmasterAdded a local domain written without a mailbox, alias or catch-all for postmaster got a mailbox
 *                  named postmaster (RFC 5321 §4.5.1: postmaster must be deliverable); mxd warns of it at start
 */
public record DomainConfig(Role role, Set<String> mailboxes, Map<String, List<String>> aliases, Optional<String> catchAll,
                           Optional<DomainFilter> filter, RecipientVerify verify, boolean postmasterAdded) {

    /** The reserved local part every local domain must deliver (RFC 5321 §4.5.1), compared in lowercase. */
    public static final String POSTMASTER = "postmaster";

    private static final Pattern MAILBOX = Pattern.compile("[a-z0-9_+=-][a-z0-9._+=-]{0,63}");

    public DomainConfig {
        mailboxes = Set.copyOf(mailboxes);
        aliases = aliases.entrySet().stream().collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, a -> List.copyOf(a.getValue())));
        for (String m : mailboxes) {
            checkName("mailbox", m);
        }
        for (Map.Entry<String, List<String>> a : aliases.entrySet()) {
            checkName("alias", a.getKey());
            if (a.getValue().isEmpty()) {
                throw new IllegalArgumentException("alias '" + a.getKey() + "' has no target; name at least one mailbox");
            }
            for (String t : a.getValue()) {
                if (!mailboxes.contains(t)) {
                    throw new IllegalArgumentException("alias '" + a.getKey() + "' points to '" + t
                            + "', which is not in this domain's mailboxes " + mailboxes);
                }
            }
        }
        if (catchAll.isPresent() && !mailboxes.contains(catchAll.get())) {
            throw new IllegalArgumentException("catch-all '" + catchAll.get() + "' is not in this domain's mailboxes " + mailboxes);
        }
        if (role == Role.LOCAL && verify.mode() != RecipientVerify.Mode.LIST) {
            throw new IllegalArgumentException("verify: " + verify.mode().key() + " is for backup domains; a local domain always "
                    + "accepts only its mailboxes, aliases and catch-all");
        }
        if (verify.mode() == RecipientVerify.Mode.LIST && role == Role.BACKUP && mailboxes.isEmpty()) {
            throw new IllegalArgumentException("verify: list needs the recipients this backup domain accepts in mailboxes:");
        }
        if (verify.mode() != RecipientVerify.Mode.LIST && (!mailboxes.isEmpty() || !aliases.isEmpty())) {
            throw new IllegalArgumentException("verify: " + verify.mode().key() + " does not use mailboxes: or aliases:; "
                    + "remove them, or write verify: list");
        }
        // RFC 5321 §4.5.1: postmaster@ every domain a server delivers for MUST be deliverable. Who reads it is the
        // operator's decision, so no mailbox is guessed: a domain written without one gets a mailbox of that name
        // (DATA-DIR/mail/DOMAIN/postmaster), and mxd says so at start, as Postfix delivers to a local user postmaster.
        if (role == Role.LOCAL && !mailboxes.contains(POSTMASTER) && !aliases.containsKey(POSTMASTER) && catchAll.isEmpty()) {
            Set<String> with = new java.util.LinkedHashSet<>(mailboxes);
            with.add(POSTMASTER);
            mailboxes = Set.copyOf(with);
            postmasterAdded = true;
        }
    }

    public DomainConfig(Role role, Set<String> mailboxes, Map<String, List<String>> aliases, Optional<String> catchAll,
                        Optional<DomainFilter> filter, RecipientVerify verify) {
        this(role, mailboxes, aliases, catchAll, filter, verify, false);
    }

    /** What mxd says at start of a local domain that got a postmaster mailbox it was not written with. */
    public Optional<String> postmasterWarning(String domain) {
        if (!postmasterAdded) {
            return Optional.empty();
        }
        return Optional.of("domain " + domain + " has no mailbox, alias or catch-all for postmaster, which every domain must deliver"
                + " (RFC 5321 §4.5.1): its mail goes to the mailbox postmaster of " + domain + "; to send it to someone who reads it, add"
                + " aliases: {postmaster: " + mailboxes.stream().filter(m -> !m.equals(POSTMASTER)).sorted().findFirst().orElse("someone")
                + "}");
    }

    /** A domain without a filter. */
    public DomainConfig(Role role, Set<String> mailboxes, Map<String, List<String>> aliases, Optional<String> catchAll) {
        this(role, mailboxes, aliases, catchAll, Optional.empty());
    }

    /** A domain verified as its mailboxes imply: by the list when there is one, else (a backup domain) not at all. */
    public DomainConfig(Role role, Set<String> mailboxes, Map<String, List<String>> aliases, Optional<String> catchAll,
                        Optional<DomainFilter> filter) {
        this(role, mailboxes, aliases, catchAll, filter, RecipientVerify.of(impliedMode(role, mailboxes)));
    }

    private static RecipientVerify.Mode impliedMode(Role role, Set<String> mailboxes) {
        return role == Role.LOCAL || !mailboxes.isEmpty() ? RecipientVerify.Mode.LIST : RecipientVerify.Mode.NONE;
    }

    @JsonCreator
    static DomainConfig fromYaml(@JsonProperty("role") Role role, // missing: said below in the file's words, not Jackson's
                                 @JsonProperty("mailboxes") List<String> mailboxes,
                                 @JsonProperty("aliases") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
                                 Map<String, List<String>> aliases,
                                 @JsonProperty("catch-all") String catchAll,
                                 @JsonProperty("filter") DomainFilter filter,
                                 @JsonProperty("verify") RecipientVerify.Mode verify,
                                 @JsonProperty("verify-positive-expire") java.time.Duration positiveExpire,
                                 @JsonProperty("verify-negative-expire") java.time.Duration negativeExpire) {
        if (role == null) {
            throw new IllegalArgumentException("role is missing; write role: local or role: backup");
        }
        Set<String> boxes = new LinkedHashSet<>();
        if (mailboxes != null) {
            mailboxes.forEach(m -> boxes.add(lower(m)));
        }
        Map<String, List<String>> al = new LinkedHashMap<>();
        if (aliases != null) {
            Map<String, String> spelled = new LinkedHashMap<>();
            aliases.forEach((k, v) -> {
                String before = spelled.put(lower(k), k);
                if (before != null) { // names are case-insensitive: the later one quietly replaced the earlier
                    throw new IllegalArgumentException("alias '" + k + "' is alias '" + before + "' again (names are compared"
                            + " without case); keep one of them");
                }
                al.put(lower(k), v == null ? List.of() : v.stream().map(DomainConfig::lower).toList());
            });
        }
        RecipientVerify.Mode mode = verify != null ? verify : impliedMode(role, boxes);
        if (mode != RecipientVerify.Mode.CALLOUT && (positiveExpire != null || negativeExpire != null)) {
            throw new IllegalArgumentException("verify-positive-expire and verify-negative-expire are for verify: callout");
        }
        RecipientVerify v = new RecipientVerify(mode, positiveExpire != null ? positiveExpire : RecipientVerify.DEFAULT_POSITIVE_EXPIRE,
                negativeExpire != null ? negativeExpire : RecipientVerify.DEFAULT_NEGATIVE_EXPIRE);
        return new DomainConfig(role, boxes, al, Optional.ofNullable(catchAll).map(DomainConfig::lower), Optional.ofNullable(filter), v);
    }

    private static String lower(String s) {
        if (s == null) { // "- " with nothing after it, or null: YAML's empty entry of a list
            throw new IllegalArgumentException("an empty entry in mailboxes:, aliases: or catch-all:; write a mailbox name or remove it");
        }
        return s.strip().toLowerCase(Locale.ROOT);
    }

    private static void checkName(String what, String name) {
        if (!MAILBOX.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " '" + name
                    + "' is not allowed: use letters, digits and . _ + = - (not first: .), at most 64 characters");
        }
    }
}
