package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.LabelSelector;
import io.tandem.config.Protocol;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * How {@link MarathonSource} talks to Marathon. All problems are collected and reported in one
 * {@link IllegalArgumentException} whose message lists each as {@code name: value (expected ...)},
 * separated by {@code "; "}.
 *
 * @param urls              Marathon base URLs (any master; a standby redirects the event stream
 *                          to the leader); the stream rotates over them on failure
 * @param auth              credentials sent on every request, when Marathon needs them
 * @param silenceTimeout    no byte at all (heartbeats count) for this long = dead stream
 * @param resyncInterval    a full resync also runs this often, whatever the stream says
 * @param connectTimeout    TCP connect and, for the stream, time to the response headers
 * @param requestTimeout    a whole REST request ({@code /v2/apps} can be large)
 * @param backoffInitial    first reconnect delay (jittered: a value in [d/2, d))
 * @param backoffMax        reconnect delay cap
 * @param backoffResetAfter a stream that lived this long resets the back-off to the initial value
 * @param protocols         which VIP protocols to publish ({@code udp,tcp} ports give both)
 * @param namedVipBlock     CIDR from which named VIPs get their addresses, e.g. 198.18.128.0/17
 * @param unreachable       what to do with UNREACHABLE / UNKNOWN / LOST tasks
 * @param groups            Marathon-LB's {@code --group}: apps whose HAPROXY_GROUP (or
 *                          HAPROXY_n_GROUP) names one of these are served on their service ports;
 *                          {@code *} serves every app; empty = Marathon-LB labels are not served
 * @param bindAddress       where Marathon-LB service ports listen unless HAPROXY_n_BIND_ADDR says
 * @param strictMode        Marathon-LB's {@code --strict-mode}: only ports with HAPROXY_n_ENABLED=true
 * @param labelSelector     only apps matching it (sent as {@code /v2/apps?label=}, applied to every
 *                          app read)
 * @param healthChecks      declared VIPs get active checks from the apps' Marathon {@code healthChecks}
 * @param stateDir          where the last good snapshot is kept (atomically) and read back at start
 */
public record MarathonSettings(List<URI> urls, Optional<MarathonAuth> auth, Duration silenceTimeout,
                               Duration resyncInterval, Duration connectTimeout, Duration requestTimeout,
                               Duration backoffInitial, Duration backoffMax, Duration backoffResetAfter,
                               Set<Protocol> protocols, String namedVipBlock,
                               UnreachablePolicy unreachable, Set<String> groups, String bindAddress,
                               boolean strictMode, Optional<LabelSelector> labelSelector, boolean healthChecks,
                               Optional<Path> stateDir) {

    public static final Duration DEFAULT_SILENCE_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_RESYNC_INTERVAL = Duration.ofMinutes(5);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(45);
    public static final Duration DEFAULT_BACKOFF_INITIAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(30);
    public static final Duration DEFAULT_BACKOFF_RESET_AFTER = Duration.ofMinutes(2);
    public static final String DEFAULT_NAMED_VIP_BLOCK = "198.18.128.0/17";
    public static final String DEFAULT_BIND_ADDRESS = "0.0.0.0";

    /**
     * Tasks whose agent lost contact with the Mesos master. They may still serve traffic and can
     * come back to RUNNING, so by default they stay and Tandem's own checks decide.
     */
    public enum UnreachablePolicy {
        /** Keep UNREACHABLE, UNKNOWN and LOST tasks as backends (the default). */
        KEEP,
        /** Remove them as if they were terminal. */
        REMOVE
    }

    public MarathonSettings {
        List<String> errors = new ArrayList<>();
        if (urls == null || urls.isEmpty()) {
            errors.add("urls: " + urls + " (expected at least one Marathon URL)");
            urls = List.of();
        } else {
            urls = List.copyOf(urls);
            for (int i = 0; i < urls.size(); i++) {
                URI u = urls.get(i);
                if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https"))
                        || u.getHost() == null || u.getRawQuery() != null || u.getRawFragment() != null) {
                    errors.add("urls[" + i + "]: " + u + " (expected an http or https base URL without query)");
                }
            }
        }
        requireNonNull(auth, "auth");
        positive(errors, "silenceTimeout", silenceTimeout);
        positive(errors, "resyncInterval", resyncInterval);
        positive(errors, "connectTimeout", connectTimeout);
        positive(errors, "requestTimeout", requestTimeout);
        positive(errors, "backoffInitial", backoffInitial);
        positive(errors, "backoffMax", backoffMax);
        positive(errors, "backoffResetAfter", backoffResetAfter);
        if (backoffInitial != null && backoffMax != null && backoffMax.compareTo(backoffInitial) < 0) {
            errors.add("backoffMax: " + backoffMax + " (expected >= backoffInitial " + backoffInitial + ")");
        }
        if (protocols == null || protocols.isEmpty()) {
            errors.add("protocols: " + protocols + " (expected tcp, udp or both)");
            protocols = Set.of();
        } else {
            protocols = Set.copyOf(protocols);
        }
        if (namedVipBlock == null) {
            errors.add("namedVipBlock: null (expected a CIDR such as " + DEFAULT_NAMED_VIP_BLOCK + ")");
        } else {
            try {
                NamedVipBlock.parse(namedVipBlock);
            } catch (IllegalArgumentException e) {
                errors.add("namedVipBlock: " + e.getMessage());
            }
        }
        if (unreachable == null) {
            errors.add("unreachable: null (expected KEEP or REMOVE)");
        }
        if (groups == null) {
            errors.add("groups: null (expected a set of HAPROXY_GROUP names, possibly empty)");
            groups = Set.of();
        } else {
            groups = Set.copyOf(groups);
            for (String g : groups) {
                if (g.isEmpty() || g.indexOf(',') >= 0) {
                    errors.add("groups: \"" + g + "\" (expected a group name without commas, or *)");
                }
            }
        }
        if (bindAddress == null || !isIpLiteral(bindAddress)) {
            errors.add("bindAddress: " + bindAddress + " (expected an IP address such as 0.0.0.0)");
        }
        requireNonNull(labelSelector, "labelSelector");
        requireNonNull(stateDir, "stateDir");
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
    }

    private static boolean isIpLiteral(String s) {
        try {
            InetAddress.ofLiteral(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static void positive(List<String> errors, String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            errors.add(name + ": " + d + " (expected > 0)");
        }
    }

    /** Settings with every default, for these URLs. */
    public static MarathonSettings of(List<URI> urls) {
        return builder(urls).build();
    }

    /** A builder starting from the defaults. */
    public static Builder builder(List<URI> urls) {
        return new Builder(urls);
    }

    /** Fluent construction; {@link #build()} validates everything at once. */
    public static final class Builder {
        private final List<URI> urls;
        private Optional<MarathonAuth> auth = Optional.empty();
        private Duration silenceTimeout = DEFAULT_SILENCE_TIMEOUT;
        private Duration resyncInterval = DEFAULT_RESYNC_INTERVAL;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private Duration backoffInitial = DEFAULT_BACKOFF_INITIAL;
        private Duration backoffMax = DEFAULT_BACKOFF_MAX;
        private Duration backoffResetAfter = DEFAULT_BACKOFF_RESET_AFTER;
        private Set<Protocol> protocols = EnumSet.allOf(Protocol.class);
        private String namedVipBlock = DEFAULT_NAMED_VIP_BLOCK;
        private UnreachablePolicy unreachable = UnreachablePolicy.KEEP;
        private Set<String> groups = Set.of();
        private String bindAddress = DEFAULT_BIND_ADDRESS;
        private boolean strictMode;
        private Optional<LabelSelector> labelSelector = Optional.empty();
        private boolean healthChecks = true;
        private Optional<Path> stateDir = Optional.empty();

        private Builder(List<URI> urls) {
            this.urls = urls;
        }

        public Builder auth(MarathonAuth auth) {
            this.auth = Optional.of(requireNonNull(auth, "auth"));
            return this;
        }

        public Builder silenceTimeout(Duration d) {
            this.silenceTimeout = d;
            return this;
        }

        public Builder resyncInterval(Duration d) {
            this.resyncInterval = d;
            return this;
        }

        public Builder connectTimeout(Duration d) {
            this.connectTimeout = d;
            return this;
        }

        public Builder requestTimeout(Duration d) {
            this.requestTimeout = d;
            return this;
        }

        public Builder backoff(Duration initial, Duration max, Duration resetAfter) {
            this.backoffInitial = initial;
            this.backoffMax = max;
            this.backoffResetAfter = resetAfter;
            return this;
        }

        public Builder protocols(Set<Protocol> protocols) {
            this.protocols = protocols;
            return this;
        }

        public Builder namedVipBlock(String cidr) {
            this.namedVipBlock = cidr;
            return this;
        }

        public Builder unreachable(UnreachablePolicy policy) {
            this.unreachable = policy;
            return this;
        }

        /** Marathon-LB: the groups served, where service ports listen, and strict mode. */
        public Builder marathonLb(Set<String> groups, String bindAddress, boolean strictMode) {
            this.groups = groups;
            this.bindAddress = bindAddress;
            this.strictMode = strictMode;
            return this;
        }

        public Builder labelSelector(LabelSelector selector) {
            this.labelSelector = Optional.of(requireNonNull(selector, "selector"));
            return this;
        }

        /** Whether declared VIPs take active checks from the apps' Marathon {@code healthChecks} (default true). */
        public Builder healthChecks(boolean fromMarathon) {
            this.healthChecks = fromMarathon;
            return this;
        }

        public Builder stateDir(Path dir) {
            this.stateDir = Optional.of(requireNonNull(dir, "dir"));
            return this;
        }

        public MarathonSettings build() {
            return new MarathonSettings(urls, auth, silenceTimeout, resyncInterval, connectTimeout,
                    requestTimeout, backoffInitial, backoffMax, backoffResetAfter, protocols,
                    namedVipBlock, unreachable, groups, bindAddress, strictMode, labelSelector, healthChecks,
                    stateDir);
        }
    }
}
