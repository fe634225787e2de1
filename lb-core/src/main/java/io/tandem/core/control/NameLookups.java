package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.NameTable.Answer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The I/O half of the names ({@link NameKeeper} is the deciding half): the DNS client of the
 * config in force, the lookups a reload makes before its config is applied, and the refreshes
 * the reconciler asks for. Never blocks the control loop: {@link #prepare} runs on the reload
 * thread, and a refresh's answer is posted back.
 */
final class NameLookups {
    private static final int PARALLEL = 64;

    /** The lookups done for a config about to be applied, with the client that did them. */
    record Prepared(DnsClient client, Map<String, Answer> answers) {
    }

    private final Function<RuntimeSettings.Dns, DnsClient> clients;
    /** The client of the config in force; null until the first config is applied. */
    private volatile DnsClient client;

    /** @param clients builds a DNS client for settings (a reload with new {@code runtime.dns} gets a new one) */
    NameLookups(Function<RuntimeSettings.Dns, DnsClient> clients) {
        this.clients = requireNonNull(clients, "clients");
    }

    /**
     * Looks every name of {@code next} up, with {@code next}'s DNS settings, and waits for the
     * answers. Runs on the reload thread (never on the loop); each lookup is bounded, so this is.
     */
    Prepared prepare(TandemConfig next) {
        DnsClient current = client;
        DnsClient c = current != null && current.settings().equals(next.runtime().dns()) ? current
                : clients.apply(next.runtime().dns());
        Map<String, Answer> answers = new LinkedHashMap<>();
        List<String> all = List.copyOf(NameKeeper.names(next));
        // At most PARALLEL lookups (one UDP socket each) in flight: a config of a thousand names
        // must not open a thousand sockets at once.
        for (int from = 0; from < all.size(); from += PARALLEL) {
            Map<String, CompletableFuture<Answer>> pending = new LinkedHashMap<>();
            for (String name : all.subList(from, Math.min(all.size(), from + PARALLEL))) {
                pending.put(name, c.lookup(name));
            }
            pending.forEach((name, f) -> answers.put(name, f.join()));
        }
        return new Prepared(c, answers);
    }

    /** The config {@code prepared} was made for is now in force: its client does the refreshes. */
    void adopt(Prepared prepared) {
        client = prepared.client();
    }

    /** Looks {@code name} up with the client in force; never completes exceptionally. */
    CompletableFuture<Answer> lookup(String name) {
        DnsClient c = client;
        return c == null ? CompletableFuture.completedFuture(new NameTable.Failed("no DNS client yet")) : c.lookup(name);
    }
}
