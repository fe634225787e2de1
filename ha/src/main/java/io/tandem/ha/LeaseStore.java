package io.tandem.ha;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.tandem.config.HaConfig;
import java.io.Closeable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.utils.ZKPaths;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ZooKeeper side of VIP ownership, for one node:
 * <pre>
 * /tandem/&lt;cluster&gt;/vips/&lt;addr&gt;/epoch            persistent  "&lt;epoch&gt; &lt;node&gt;"   fencing token, versioned CAS
 * /tandem/&lt;cluster&gt;/vips/&lt;addr&gt;/owner            ephemeral   "&lt;node&gt; &lt;epoch&gt;"   the lease, lives with the holder's session
 * /tandem/&lt;cluster&gt;/nodes/&lt;target&gt;/probe/&lt;prober&gt;  persistent  nonce             "are you alive?"
 * /tandem/&lt;cluster&gt;/nodes/&lt;target&gt;/ack/&lt;prober&gt;    persistent  nonce             "yes" (written by target)
 * </pre>
 * Reads come from one {@link CuratorCache} over the whole subtree; every write that changes
 * ownership is one multi-op transaction whose first op is a versioned write of the epoch record,
 * so two claims of one address can never both commit. Blocking methods run on virtual threads.
 */
final class LeaseStore implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(LeaseStore.class);

    interface Events {
        void state(ZkState state, long sessionId);

        void changed();

        void initialized();
    }

    private final String me;
    private final String base;
    private final List<String> vipAddresses;
    private final CuratorFramework client;
    private final Events events;
    private volatile CuratorCache cache;
    private volatile boolean closed;

    LeaseStore(HaConfig s, Events events) {
        this.me = s.nodeId();
        this.base = "/tandem/" + s.cluster();
        this.vipAddresses = s.addresses().stream().map(HaConfig.Address::address).toList();
        this.events = events;
        this.client = CuratorFrameworkFactory.builder()
                .connectString(s.zkConnect())
                .sessionTimeoutMs((int) s.zkSessionTimeout().toMillis())
                .connectionTimeoutMs((int) s.zkConnectionTimeout().toMillis())
                .retryPolicy(new ExponentialBackoffRetry(50, 3, 500))
                .build();
    }

    void start() {
        client.getConnectionStateListenable().addListener((c, st) -> events.state(map(st), sessionId()));
        client.start();
        Thread.ofVirtual().name("tandem-ha-zk-init-" + me).start(this::init);
    }

    /** Creates the persistent layout, then starts the cache (whose first build is "initialized"). */
    private void init() {
        while (!closed) {
            try {
                client.blockUntilConnected();
                for (String vipAddress : vipAddresses) {
                    ensure(vipAddressPath(vipAddress));
                }
                ensure(base + "/nodes/" + me + "/probe");
                ensure(base + "/nodes/" + me + "/ack");
                CuratorCache c = CuratorCache.build(client, base);
                c.listenable().addListener(CuratorCacheListener.builder()
                        .forAll((type, before, after) -> events.changed())
                        .forInitialized(events::initialized)
                        .build());
                cache = c;
                if (!closed) {
                    c.start();
                }
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                if (!closed) {
                    log.warn("zookeeper layout setup failed node={} error=\"{}\" (retrying)", me, e.toString());
                    try {
                        Thread.sleep(200); // back-off between attempts, not a wait for a condition
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    private void ensure(String path) throws Exception {
        try {
            client.create().creatingParentsIfNeeded().forPath(path);
        } catch (KeeperException.NodeExistsException ignored) {
            // already there
        }
    }

    private static ZkState map(ConnectionState st) {
        return switch (st) {
            case CONNECTED, RECONNECTED -> ZkState.CONNECTED;
            case SUSPENDED, READ_ONLY -> ZkState.SUSPENDED;
            case LOST -> ZkState.LOST;
        };
    }

    long sessionId() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            return 0;
        }
    }

    // ------------------------------------------------------------ cache reads (control thread)

    Map<String, Lease> leases() {
        Map<String, Lease> out = new HashMap<>();
        CuratorCache c = cache;
        if (c == null) {
            return out;
        }
        for (String vipAddress : vipAddresses) {
            out.put(vipAddress, lease(c.get(epochPath(vipAddress)), c.get(ownerPath(vipAddress))));
        }
        return out;
    }

    private static Lease lease(Optional<ChildData> epochNode, Optional<ChildData> ownerNode) {
        long epoch = 0;
        String holder = null;
        int epochVersion = -1;
        if (epochNode.isPresent()) {
            String[] f = text(epochNode.get()).split(" ", 2);
            epochVersion = epochNode.get().getStat().getVersion();
            try {
                epoch = Long.parseLong(f[0]);
                holder = f.length > 1 ? f[1] : null;
            } catch (NumberFormatException e) {
                log.warn("malformed epoch record data=\"{}\" (expected \"<epoch> <node>\")", text(epochNode.get()));
            }
        }
        String owner = null;
        long ownerSession = 0;
        int ownerVersion = -1;
        if (ownerNode.isPresent()) {
            owner = text(ownerNode.get()).split(" ", 2)[0];
            ownerSession = ownerNode.get().getStat().getEphemeralOwner();
            ownerVersion = ownerNode.get().getStat().getVersion();
        }
        return new Lease(epoch, holder, epochVersion, owner, ownerSession, ownerVersion);
    }

    /** Probes addressed to this node: prober id to nonce. */
    Map<String, Long> probesToMe() {
        return nonces(base + "/nodes/" + me + "/probe");
    }

    /** The nonce {@code peer} last acknowledged to this node, or -1. */
    long ackFrom(String peer) {
        CuratorCache c = cache;
        if (c == null) {
            return -1;
        }
        return c.get(base + "/nodes/" + peer + "/ack/" + me).map(LeaseStore::nonce).orElse(-1L);
    }

    private Map<String, Long> nonces(String parent) {
        Map<String, Long> out = new HashMap<>();
        CuratorCache c = cache;
        if (c == null) {
            return out;
        }
        c.stream().filter(d -> ZKPaths.getPathAndNode(d.getPath()).getPath().equals(parent))
                .forEach(d -> out.put(ZKPaths.getNodeFromPath(d.getPath()), nonce(d)));
        return out;
    }

    private static long nonce(ChildData d) {
        try {
            return Long.parseLong(text(d));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String text(ChildData d) {
        return d.getData() == null ? "" : new String(d.getData(), UTF_8);
    }

    // ------------------------------------------------------------ writes

    /** Asynchronously writes a probe for {@code peer}; {@code done} gets (ok, nonce) on a Curator thread. */
    void writeProbe(String peer, long nonce, BiConsumer<Boolean, Long> done) {
        try {
            client.create().orSetData().creatingParentsIfNeeded()
                    .inBackground((c, ev) -> done.accept(ev.getResultCode() == 0, nonce))
                    .forPath(base + "/nodes/" + peer + "/probe/" + me, Long.toString(nonce).getBytes(UTF_8));
        } catch (Exception e) {
            done.accept(false, nonce);
        }
    }

    /** Asynchronously answers a probe from {@code prober}. */
    void writeAck(String prober, long nonce) {
        try {
            client.create().orSetData().creatingParentsIfNeeded().inBackground()
                    .forPath(base + "/nodes/" + me + "/ack/" + prober, Long.toString(nonce).getBytes(UTF_8));
        } catch (Exception e) {
            log.debug("probe answer failed prober={} error=\"{}\"", prober, e.toString());
        }
    }

    /**
     * Compare-and-set of the lease: epoch record {@code seen.epoch()} → {@code +1} naming this
     * node, the previous owner node (if any, whoever's session it is) deleted, ours created.
     * Blocking.
     *
     * @return the new epoch
     * @throws Exception when the transaction did not commit (someone else moved first, or no connection)
     */
    long claim(String vipAddress, Lease seen) throws Exception {
        long epoch = seen.epoch() + 1;
        byte[] epochData = Lease.epochData(epoch, me).getBytes(UTF_8);
        List<CuratorOp> ops = new ArrayList<>();
        if (seen.epochVersion() < 0) {
            ops.add(client.transactionOp().create().withMode(CreateMode.PERSISTENT).forPath(epochPath(vipAddress), epochData));
        } else {
            ops.add(client.transactionOp().setData().withVersion(seen.epochVersion()).forPath(epochPath(vipAddress), epochData));
        }
        if (seen.ownerLive()) {
            ops.add(client.transactionOp().delete().withVersion(seen.ownerVersion()).forPath(ownerPath(vipAddress)));
        }
        ops.add(client.transactionOp().create().withMode(CreateMode.EPHEMERAL)
                .forPath(ownerPath(vipAddress), Lease.ownerData(me, epoch).getBytes(UTF_8)));
        client.transaction().forOperations(ops);
        return epoch;
    }

    /** Deletes our owner node of {@code vipAddress} if this session still owns it. Blocking, best effort. */
    void deleteOwner(String vipAddress) {
        try {
            Stat st = client.checkExists().forPath(ownerPath(vipAddress));
            if (st != null && st.getEphemeralOwner() == sessionId()) {
                client.delete().withVersion(st.getVersion()).forPath(ownerPath(vipAddress));
            }
        } catch (Exception e) {
            log.debug("owner delete failed address={} error=\"{}\"", vipAddress, e.toString());
        }
    }

    /** Reads the epoch record directly from the server. Blocking. */
    Lease read(String vipAddress) throws Exception {
        Stat st = new Stat();
        byte[] data = client.getData().storingStatIn(st).forPath(epochPath(vipAddress));
        Stat ownerStat = new Stat();
        Optional<ChildData> owner;
        try {
            byte[] o = client.getData().storingStatIn(ownerStat).forPath(ownerPath(vipAddress));
            owner = Optional.of(new ChildData(ownerPath(vipAddress), ownerStat, o));
        } catch (KeeperException.NoNodeException e) {
            owner = Optional.empty();
        }
        return lease(Optional.of(new ChildData(epochPath(vipAddress), st, data)), owner);
    }

    String epochPath(String vipAddress) {
        return vipAddressPath(vipAddress) + "/epoch";
    }

    String ownerPath(String vipAddress) {
        return vipAddressPath(vipAddress) + "/owner";
    }

    private String vipAddressPath(String vipAddress) {
        return base + "/vips/" + vipAddress;
    }

    @Override
    public void close() {
        closed = true;
        CuratorCache c = cache;
        if (c != null) {
            c.close();
        }
        client.close();
    }
}
