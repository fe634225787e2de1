package io.tandem.core.namedvip;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The named-VIP zone: what the DNS responder answers, as a pure function of the question (no
 * Netty, no I/O; {@link NamedVipDns} does the wire). Authoritative for {@code <suffix>}:
 *
 * <ul>
 *   <li>{@code <name>.<suffix>} A / AAAA: the addresses allocated to the named VIP; SRV: one record
 *       per VIP port ({@code 0 1 <port> <name>.<suffix>.}), as does {@code _<name>._<tcp|udp>.<suffix>}
 *       SRV for that protocol's ports (RFC 2782). Another type of an existing name: NOERROR, no
 *       data.</li>
 *   <li>{@code <name>} is the VIP name made DNS-safe as DC/OS does ({@link #dnsName}): {@code /orders}
 *       → {@code orders}, {@code /grp/my_app} → {@code grpmy-app}.</li>
 *   <li>A name under the suffix that is not a named VIP: NXDOMAIN (with the zone's SOA, so
 *       resolvers cache the negative answer for the TTL); the suffix itself: SOA, else no data.</li>
 *   <li>A name outside the suffix: REFUSED (the responder is no recursive resolver).</li>
 * </ul>
 */
final class NamedVipZone {

    static final int A = 1;
    static final int NS = 2;
    static final int SOA = 6;
    static final int AAAA = 28;
    static final int SRV = 33;
    static final int ANY = 255;

    static final int NOERROR = 0;
    static final int NXDOMAIN = 3;
    static final int REFUSED = 5;

    /** One resource record: owner name (no trailing dot), type, TTL and encoded RDATA. */
    record Rr(String name, int type, long ttl, byte[] rdata) {
    }

    /** What to answer: the response code, whether authoritative, and the three record sections. */
    record Answer(int rcode, boolean authoritative, List<Rr> answers, List<Rr> authority, List<Rr> additional) {
        Answer {
            answers = List.copyOf(answers);
            authority = List.copyOf(authority);
            additional = List.copyOf(additional);
        }

        static Answer refused() {
            return new Answer(REFUSED, false, List.of(), List.of(), List.of());
        }
    }

    /** One named VIP port, for SRV. */
    private record Service(int port, String protocol) {
    }

    /** A name's records: addresses and ports. */
    private record Entry(Set<InetAddress> addresses, Set<Service> services) {
    }

    private final String suffix;
    private final long ttl;
    private final long serial;
    private final Map<String, Entry> names;

    private NamedVipZone(String suffix, long ttl, long serial, Map<String, Entry> names) {
        this.suffix = suffix;
        this.ttl = ttl;
        this.serial = serial;
        this.names = names;
    }

    /**
     * The zone of the node's named VIPs.
     *
     * @param namedVips the admin API's map ({@code /orders:8080/tcp} → {@code 198.18.175.99:8080});
     *                  entries it cannot read are skipped
     * @param serial    the SOA serial (any number that grows when the zone changes)
     */
    static NamedVipZone of(String suffix, long ttlSeconds, long serial, Map<String, String> namedVips) {
        requireNonNull(suffix, "suffix");
        Map<String, Entry> names = new TreeMap<>();
        for (var e : namedVips.entrySet()) {
            String key = e.getKey();
            int slash = key.lastIndexOf('/');
            int colon = slash < 0 ? -1 : key.lastIndexOf(':', slash);
            if (slash < 0 || colon <= 0) {
                continue;
            }
            String dns = dnsName(key.substring(0, colon));
            if (dns.isEmpty()) {
                continue;
            }
            HostPort listen;
            int port;
            InetAddress address;
            try {
                port = Integer.parseInt(key.substring(colon + 1, slash));
                listen = HostPort.parse(e.getValue());
                address = InetAddress.ofLiteral(listen.host());
            } catch (IllegalArgumentException ex) {
                continue;
            }
            Entry entry = names.computeIfAbsent(dns, k -> new Entry(new TreeSet<>(Comparator.comparing(
                    InetAddress::getHostAddress)), new LinkedHashSet<>()));
            entry.addresses().add(address);
            entry.services().add(new Service(port, key.substring(slash + 1).toLowerCase(Locale.ROOT)));
        }
        return new NamedVipZone(lower(suffix), ttlSeconds, serial, Collections.unmodifiableMap(names));
    }

    /** How many names the zone holds. */
    int size() {
        return names.size();
    }

    String suffix() {
        return suffix;
    }

    /**
     * DC/OS's {@code mesos_state:domain_frag} for the label of a named VIP: lower case, {@code _}
     * becomes {@code -}, {@code /} and every character other than letters, digits, {@code -} and
     * {@code .} removed; {@code .} separates DNS labels, each cut to 63 characters.
     */
    static String dnsName(String vipName) {
        StringBuilder b = new StringBuilder(vipName.length());
        for (char c : vipName.toLowerCase(Locale.ROOT).toCharArray()) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') {
                b.append(c);
            } else if (c == '_') {
                b.append('-');
            }
        }
        List<String> labels = new ArrayList<>();
        for (String label : b.toString().split("\\.")) {
            if (!label.isEmpty()) {
                labels.add(label.length() > 63 ? label.substring(0, 63) : label);
            }
        }
        return String.join(".", labels);
    }

    /** The answer to one question ({@code qname} as sent: any case, with or without the final dot). */
    Answer answer(String qname, int qtype) {
        String name = lower(qname);
        if (!name.equals(suffix) && !name.endsWith("." + suffix)) {
            return Answer.refused();
        }
        if (name.equals(suffix)) {
            return qtype == SOA || qtype == ANY ? new Answer(NOERROR, true, List.of(soa()), List.of(), List.of())
                    : noData();
        }
        String relative = name.substring(0, name.length() - suffix.length() - 1);
        if (relative.startsWith("_")) {
            return srvByProtocol(relative);
        }
        Entry e = names.get(relative);
        if (e == null) {
            return new Answer(NXDOMAIN, true, List.of(), List.of(soa()), List.of());
        }
        List<Rr> answers = new ArrayList<>();
        switch (qtype) {
            case A -> addresses(name, e, Inet4Address.class, answers);
            case AAAA -> addresses(name, e, Inet6Address.class, answers);
            case SRV -> srv(relative, e, null, answers);
            case ANY -> {
                addresses(name, e, Inet4Address.class, answers);
                addresses(name, e, Inet6Address.class, answers);
            }
            default -> {
                // another type of an existing name: no data
            }
        }
        if (answers.isEmpty()) {
            return noData();
        }
        List<Rr> additional = new ArrayList<>();
        if (qtype == SRV) {
            addresses(name, e, Inet4Address.class, additional);
            addresses(name, e, Inet6Address.class, additional);
        }
        return new Answer(NOERROR, true, answers, List.of(), additional);
    }

    /** {@code _<name>._<tcp|udp>}: the SRV records of that protocol's ports. */
    private Answer srvByProtocol(String relative) {
        String[] parts = relative.split("\\.", 2);
        if (parts.length != 2 || parts[0].length() < 2 || !(parts[1].equals("_tcp") || parts[1].equals("_udp"))) {
            return new Answer(NXDOMAIN, true, List.of(), List.of(soa()), List.of());
        }
        String target = parts[0].substring(1);
        Entry e = names.get(target);
        if (e == null) {
            return new Answer(NXDOMAIN, true, List.of(), List.of(soa()), List.of());
        }
        List<Rr> answers = new ArrayList<>();
        srv(relative, e, parts[1].substring(1), answers);
        if (answers.isEmpty()) {
            return noData();
        }
        // the owner of the SRV records is the question; the target gets its addresses as additional data
        List<Rr> additional = new ArrayList<>();
        String fqdn = target + "." + suffix;
        addresses(fqdn, e, Inet4Address.class, additional);
        addresses(fqdn, e, Inet6Address.class, additional);
        return new Answer(NOERROR, true, answers, List.of(), additional);
    }

    private void srv(String owner, Entry e, String protocol, List<Rr> out) {
        String target = owner.startsWith("_") ? owner.substring(1, owner.indexOf('.')) : owner;
        Set<Integer> seen = new TreeSet<>();
        for (Service s : e.services()) {
            if (protocol != null && !protocol.equals(s.protocol())) {
                continue;
            }
            if (!seen.add(s.port())) {
                continue; // tcp and udp on one port: one SRV record when the protocol is not asked
            }
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            writeShort(b, 0); // priority
            writeShort(b, 1); // weight
            writeShort(b, s.port());
            writeName(b, target + "." + suffix);
            out.add(new Rr(owner + "." + suffix, SRV, ttl, b.toByteArray()));
        }
    }

    private void addresses(String owner, Entry e, Class<? extends InetAddress> family, List<Rr> out) {
        for (InetAddress a : e.addresses()) {
            if (family.isInstance(a)) {
                out.add(new Rr(owner, family == Inet4Address.class ? A : AAAA, ttl, a.getAddress()));
            }
        }
    }

    private Answer noData() {
        return new Answer(NOERROR, true, List.of(), List.of(soa()), List.of());
    }

    /** The zone's SOA: the suffix itself as primary, {@code hostmaster.<suffix>}, minimum = the TTL. */
    Rr soa() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeName(b, suffix);
        writeName(b, "hostmaster." + suffix);
        writeInt(b, serial);
        writeInt(b, 60);     // refresh
        writeInt(b, 30);     // retry
        writeInt(b, 86_400); // expire
        writeInt(b, ttl);    // minimum: how long resolvers cache NXDOMAIN
        return new Rr(suffix, SOA, ttl, b.toByteArray());
    }

    /** A domain name in wire form (labels, no compression). */
    static void writeName(ByteArrayOutputStream b, String name) {
        for (String label : name.split("\\.")) {
            if (label.isEmpty()) {
                continue;
            }
            byte[] l = label.getBytes(StandardCharsets.US_ASCII);
            b.write(l.length);
            b.write(l, 0, l.length);
        }
        b.write(0);
    }

    private static void writeShort(ByteArrayOutputStream b, int v) {
        b.write((v >>> 8) & 0xff);
        b.write(v & 0xff);
    }

    private static void writeInt(ByteArrayOutputStream b, long v) {
        b.write((int) (v >>> 24) & 0xff);
        b.write((int) (v >>> 16) & 0xff);
        b.write((int) (v >>> 8) & 0xff);
        b.write((int) v & 0xff);
    }

    private static String lower(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }
}
