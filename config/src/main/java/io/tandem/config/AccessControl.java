package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A VIP's source access list ({@code acl: {allow: [...], deny: [...]}}), checked when a
 * connection is accepted (TCP) or a session starts (UDP), before any backend is contacted.
 *
 * <p>The rule is a routing table's: the <b>longest matching prefix</b> decides, whichever list it
 * is in ({@code deny: [10.0.0.0/8], allow: [10.1.2.0/24]} lets 10.1.2.7 in and keeps 10.9.9.9
 * out; the reverse also works). An address no prefix matches is allowed when {@code allow} is
 * empty (a deny list) and refused otherwise (an allow list). The same prefix in both lists is a
 * config error. Lookups are one binary search over ranges flattened at load ({@link PrefixTable}),
 * so thousands of prefixes cost the same as ten. Immutable; equal when the lists are.
 */
public final class AccessControl {
    /** No rule: every client is allowed (and the data path skips the lookup). */
    public static final AccessControl OPEN = new AccessControl(List.of(), List.of());

    private static final byte ALLOW = 1;
    private static final byte DENY = 2;

    private final List<Cidr> allow;
    private final List<Cidr> deny;
    private final PrefixTable table;

    public AccessControl(List<Cidr> allow, List<Cidr> deny) {
        this.allow = List.copyOf(requireNonNull(allow, "allow"));
        this.deny = List.copyOf(requireNonNull(deny, "deny"));
        List<PrefixTable.Entry> entries = new ArrayList<>(this.allow.size() + this.deny.size());
        this.allow.forEach(c -> entries.add(new PrefixTable.Entry(c, ALLOW)));
        this.deny.forEach(c -> entries.add(new PrefixTable.Entry(c, DENY)));
        this.table = PrefixTable.build(entries);
    }

    public List<Cidr> allow() {
        return allow;
    }

    public List<Cidr> deny() {
        return deny;
    }

    /** True when there is no rule at all: every client is allowed without a lookup. */
    public boolean isOpen() {
        return allow.isEmpty() && deny.isEmpty();
    }

    /** Whether a client at {@code address} may connect. */
    public boolean allows(InetAddress address) {
        if (isOpen()) {
            return true;
        }
        byte v = table.lookup(address);
        return v == NONE_MATCHED ? allow.isEmpty() : v == ALLOW;
    }

    private static final byte NONE_MATCHED = PrefixTable.NONE;

    /** Disjoint address ranges the lists flatten to (reported by {@code validate}). */
    public int ranges() {
        return table.ranges();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AccessControl a && a.allow.equals(allow) && a.deny.equals(deny);
    }

    @Override
    public int hashCode() {
        return 31 * allow.hashCode() + deny.hashCode();
    }

    @Override
    public String toString() {
        return "acl{allow=" + allow + ", deny=" + deny + "}";
    }
}
