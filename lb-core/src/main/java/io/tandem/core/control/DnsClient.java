package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.resolver.HostsFileEntriesProvider;
import io.netty.resolver.dns.DnsErrorCauseException;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverTimeoutException;
import io.netty.resolver.dns.DnsQueryLifecycleObserver;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.NoopAuthoritativeDnsServerCache;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.ReferenceCountUtil;
import io.tandem.config.HostPort;
import io.tandem.config.RuntimeSettings;
import io.tandem.core.control.NameTable.Answer;
import io.tandem.core.control.NameTable.Failed;
import io.tandem.core.control.NameTable.Found;
import io.tandem.core.control.NameTable.NotFound;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Looks a backend host name up and reports its addresses <em>with their TTL</em>, which the JDK
 * resolver never shows (it caches by {@code networkaddress.cache.ttl}, whatever the record says).
 * {@code /etc/hosts} first, as the system resolver does (its entries have no TTL: they count as
 * {@code max_ttl}, and the file is re-read when it changes); then DNS through Netty's resolver
 * with its caches switched off (Tandem's {@link NameTable} decides when to ask again): the
 * servers of {@code runtime.dns.servers} or of {@code /etc/resolv.conf}, with its search domains
 * and {@code ndots}, CNAMEs followed, TCP when a UDP answer is truncated.
 *
 * <p>A records first; AAAA only when the name has no A record (Envoy's {@code V4_PREFERRED}).
 * The TTL is the smallest TTL of the address records of the answer.
 *
 * <p>Never blocks the caller: the hosts file is read on a virtual thread, DNS runs on an event
 * loop of {@code group}. Each lookup gets its own Netty resolver (one UDP socket, closed after
 * the lookup) so the response codes it saw — NXDOMAIN, an empty answer, REFUSED, SERVFAIL, a
 * timeout — are its own and can be told apart: only the first two mean "the name has no
 * address"; the others say nothing about the name ({@link NameTable}).
 */
final class DnsClient {
    private final RuntimeSettings.Dns settings;
    private final EventLoopGroup group;
    private final Class<? extends DatagramChannel> datagramChannel;
    private final Class<? extends SocketChannel> socketChannel;
    private final DnsServerAddressStreamProvider servers;
    private final HostsFile hosts;
    private final Executor blocking = task -> Thread.ofVirtual().name("tandem-dns-hosts").start(task);

    DnsClient(RuntimeSettings.Dns settings, EventLoopGroup group, Class<? extends DatagramChannel> datagramChannel,
              Class<? extends SocketChannel> socketChannel, HostsFile hosts) {
        this.settings = requireNonNull(settings, "settings");
        this.group = requireNonNull(group, "group");
        this.datagramChannel = requireNonNull(datagramChannel, "datagramChannel");
        this.socketChannel = requireNonNull(socketChannel, "socketChannel");
        this.hosts = requireNonNull(hosts, "hosts");
        this.servers = settings.servers().isEmpty() ? DnsServerAddressStreamProviders.platformDefault()
                : new SequentialDnsServerAddressStreamProvider(settings.servers().stream()
                        .map(hp -> new InetSocketAddress(InetAddress.ofLiteral(hp.host()), hp.port())).toList());
    }

    RuntimeSettings.Dns settings() {
        return settings;
    }

    /** An upper bound on one lookup (A then AAAA, every server, a few search domains), for callers that wait. */
    Duration worstCase() {
        int serverCount = Math.max(1, settings.servers().size());
        return settings.timeout().multipliedBy(2L * serverCount * 3).plusSeconds(1);
    }

    /** The name's addresses; never completes exceptionally (a problem is a {@link Failed}). */
    CompletableFuture<Answer> lookup(String name) {
        requireNonNull(name, "name");
        return CompletableFuture.supplyAsync(() -> hosts.addresses(name), blocking)
                .thenCompose(fromHosts -> fromHosts.isEmpty() ? dns(name)
                        : CompletableFuture.completedFuture(new Found(fromHosts, settings.maxTtl())))
                .exceptionally(e -> new Failed(describe(e)))
                // Belt and braces: the resolver has its own timeouts, this bounds everything else.
                .completeOnTimeout(new Failed("no answer within " + worstCase().toMillis() + " ms"),
                        worstCase().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A records; AAAA when the name exists but has no A record. */
    private CompletableFuture<Answer> dns(String name) {
        return query(name, DnsRecordType.A).thenCompose(a -> {
            if (a instanceof NotFound nf && nf.reason().equals("no A record")) {
                return query(name, DnsRecordType.AAAA)
                        .thenApply(aaaa -> aaaa instanceof NotFound ? new NotFound("no A or AAAA record") : aaaa);
            }
            return CompletableFuture.completedFuture(a);
        });
    }

    private CompletableFuture<Answer> query(String name, DnsRecordType type) {
        CompletableFuture<Answer> out = new CompletableFuture<>();
        Trace trace = new Trace();
        EventLoop loop = group.next();
        DnsNameResolver resolver = new DnsNameResolverBuilder(loop)
                .datagramChannelType(datagramChannel)
                .socketChannelType(socketChannel)
                .queryTimeoutMillis(settings.timeout().toMillis())
                .resolveCache(NoopDnsCache.INSTANCE)
                .cnameCache(NoopDnsCnameCache.INSTANCE)
                .authoritativeDnsServerCache(NoopAuthoritativeDnsServerCache.INSTANCE)
                .hostsFileEntriesResolver((host, types) -> null) // done above, off the event loop
                .nameServerProvider(servers)
                .dnsQueryLifecycleObserverFactory(q -> trace)
                .recursionDesired(true)
                .build();
        resolver.resolveAll(new DefaultDnsQuestion(name, type)).addListener(f -> {
            try {
                if (f.isSuccess()) {
                    @SuppressWarnings("unchecked")
                    List<DnsRecord> records = (List<DnsRecord>) f.getNow();
                    out.complete(found(name, type, records));
                } else {
                    out.complete(classify(type, f.cause(), trace));
                }
            } catch (RuntimeException e) {
                out.complete(new Failed(describe(e)));
            } finally {
                // Not inside the answer's channelRead (where this listener runs): Netty's epoll
                // datagram read loop reads again after a close there, from a descriptor number the
                // next socket may already have (see the health module's Probe#cleanup).
                try {
                    loop.execute(resolver::close);
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    resolver.close();
                }
            }
        });
        return out;
    }

    private static Answer found(String name, DnsRecordType type, List<DnsRecord> records) {
        List<InetAddress> addresses = new ArrayList<>();
        long ttl = Long.MAX_VALUE;
        try {
            for (DnsRecord r : records) {
                if (r.type() == type && r instanceof DnsRawRecord raw) {
                    byte[] bytes = new byte[raw.content().readableBytes()];
                    raw.content().getBytes(raw.content().readerIndex(), bytes);
                    if (bytes.length == 4 || bytes.length == 16) {
                        addresses.add(InetAddress.getByAddress(name, bytes));
                        ttl = Math.min(ttl, r.timeToLive());
                    }
                }
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only for a length other than 4 or 16, excluded above
        } finally {
            records.forEach(ReferenceCountUtil::safeRelease);
        }
        return addresses.isEmpty() ? new NotFound("no " + type.name() + " record")
                : new Found(addresses, Duration.ofSeconds(Math.max(0, ttl)));
    }

    /** What a failed resolution means: the name has no address, or nothing was learnt. */
    private Answer classify(DnsRecordType type, Throwable cause, Trace trace) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof DnsErrorCauseException e && e.getCode() == DnsResponseCode.NXDOMAIN) {
                return new NotFound("NXDOMAIN");
            }
        }
        if (trace.noMatchingRecord) {
            return new NotFound("no " + type.name() + " record");
        }
        if (trace.nxdomain) {
            return new NotFound("NXDOMAIN");
        }
        if (!trace.codes.isEmpty()) {
            return new Failed(String.join(", ", trace.codes.stream().distinct().toList()) + " from "
                    + serversText());
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof DnsNameResolverTimeoutException) {
                return new Failed("no answer within " + settings.timeout().toMillis() + " ms from " + serversText());
            }
        }
        if (trace.timedOut) {
            return new Failed("no answer within " + settings.timeout().toMillis() + " ms from " + serversText());
        }
        if (trace.otherFailure != null) {
            return new Failed(trace.otherFailure);
        }
        // A response with NOERROR and nothing usable in it (netty reports no cause for that).
        return trace.answered ? new NotFound("no " + type.name() + " record") : new Failed(describe(cause));
    }

    private String serversText() {
        return settings.servers().isEmpty() ? "the system's name servers"
                : settings.servers().stream().map(HostPort::toString).toList().toString();
    }

    static String describe(Throwable e) {
        Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }

    /** What the queries of one lookup saw (they may run on the event loop; read after completion). */
    private static final class Trace implements DnsQueryLifecycleObserver {
        final ConcurrentLinkedQueue<String> codes = new ConcurrentLinkedQueue<>();
        volatile boolean noMatchingRecord;
        volatile boolean nxdomain;
        volatile boolean timedOut;
        volatile boolean answered;
        volatile String otherFailure;

        @Override
        public void queryWritten(InetSocketAddress dnsServerAddress, ChannelFuture future) {
        }

        @Override
        public void queryCancelled(int queriesRemaining) {
        }

        @Override
        public DnsQueryLifecycleObserver queryRedirected(List<InetSocketAddress> nameServers) {
            return this;
        }

        @Override
        public DnsQueryLifecycleObserver queryCNAMEd(io.netty.handler.codec.dns.DnsQuestion cnameQuestion) {
            return this;
        }

        @Override
        public DnsQueryLifecycleObserver queryNoAnswer(DnsResponseCode code) {
            codes.add(code.toString().replaceAll("\\(.*", "").trim().toUpperCase(Locale.ROOT));
            return this;
        }

        @Override
        public void queryFailed(Throwable cause) {
            String m = String.valueOf(cause.getMessage());
            if (cause instanceof DnsNameResolverTimeoutException) {
                timedOut = true;
            } else if (m.startsWith("No matching record")) {
                noMatchingRecord = true;
                answered = true;
            } else if (m.contains("NXDOMAIN")) {
                nxdomain = true;
                answered = true;
            } else if (!m.startsWith("No name servers returned")) {
                otherFailure = m;
            }
        }

        @Override
        public void querySucceed() {
            answered = true;
        }
    }

    /**
     * {@code /etc/hosts}, re-read when its modification time or size changes. Names are matched
     * ignoring case; A entries first, AAAA when the name has no IPv4 entry. Thread-safe.
     */
    static final class HostsFile {
        private final Path path;
        private long stamp = Long.MIN_VALUE;
        private Map<String, List<InetAddress>> v4 = Map.of();
        private Map<String, List<InetAddress>> v6 = Map.of();

        HostsFile(Path path) {
            this.path = requireNonNull(path, "path");
        }

        static HostsFile system() {
            return new HostsFile(Path.of("/etc/hosts"));
        }

        /** The file's addresses for {@code name}; empty when it has none (or there is no file). */
        synchronized List<InetAddress> addresses(String name) {
            refresh();
            String key = name.toLowerCase(Locale.ROOT);
            List<InetAddress> a = v4.get(key);
            if (a == null || a.isEmpty()) {
                a = v6.get(key);
            }
            return a == null ? List.of() : List.copyOf(a);
        }

        private void refresh() {
            long now;
            try {
                BasicFileAttributes at = Files.readAttributes(path, BasicFileAttributes.class);
                now = at.lastModifiedTime().toMillis() * 31 + at.size();
            } catch (IOException e) {
                v4 = Map.of();
                v6 = Map.of();
                stamp = Long.MIN_VALUE;
                return;
            }
            if (now != stamp) {
                File f = path.toFile();
                HostsFileEntriesProvider p = HostsFileEntriesProvider.parser().parseSilently(f);
                v4 = p.ipv4Entries();
                v6 = p.ipv6Entries();
                stamp = now;
            }
        }
    }
}
