package io.tandem.discovery.zookeeper;

import ch.qos.logback.classic.Level;
import io.tandem.discovery.DiscoverySource;
import io.tandem.discovery.Endpoint;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.slf4j.LoggerFactory;

/** Keeps every snapshot a source emits, with the nanoTime it arrived. */
final class RecordingListener implements DiscoverySource.Listener {

    record Snap(long atNanos, Map<String, Set<Endpoint>> services, boolean stale, String thread) {
        Set<String> addresses(String service) {
            return services.getOrDefault(service, Set.of()).stream()
                    .map(e -> e.address().toString()).collect(Collectors.toSet());
        }

        Optional<Endpoint> endpoint(String service, String address) {
            return services.getOrDefault(service, Set.of()).stream()
                    .filter(e -> e.address().toString().equals(address)).findFirst();
        }
    }

    final List<Snap> snaps = new CopyOnWriteArrayList<>();

    @Override
    public void onSnapshot(DiscoverySource source, Map<String, Set<Endpoint>> services, boolean stale) {
        snaps.add(new Snap(System.nanoTime(), services, stale, Thread.currentThread().getName()));
    }

    Optional<Snap> latest() {
        return snaps.isEmpty() ? Optional.empty() : Optional.of(snaps.getLast());
    }

    Set<String> latestAddresses(String service) {
        return latest().map(s -> s.addresses(service)).orElse(Set.of());
    }

    boolean latestStale() {
        return latest().map(Snap::stale).orElse(false);
    }

    /** ZooKeeper's server logs a great deal at DEBUG; the tests only need its warnings. */
    static void quietZooKeeperLogs() {
        for (String name : List.of("org.apache.zookeeper", "org.apache.curator")) {
            ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(name)).setLevel(Level.WARN);
        }
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.INFO);
    }
}
