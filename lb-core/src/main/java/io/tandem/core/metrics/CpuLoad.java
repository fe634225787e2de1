package io.tandem.core.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

/**
 * {@code system.cpu.usage} and {@code process.cpu.usage}, read at most once a second. In a
 * container the JDK answers each of these by re-reading cgroup files (about 80 KB of garbage per
 * call, measured), and a "recent cpu usage" read more often than once a second says nothing new.
 * Registered before Micrometer's {@code ProcessorMetrics}, whose meters of the same names then
 * resolve to these (a registry keeps the first meter of an id); names and descriptions are theirs.
 */
final class CpuLoad {
    private static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final com.sun.management.OperatingSystemMXBean os;
    private long readAt;
    private boolean read;
    private double system;
    private double process;

    private CpuLoad(com.sun.management.OperatingSystemMXBean os) {
        this.os = os;
    }

    static void bindTo(MeterRegistry registry) {
        if (!(ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)) {
            return; // not HotSpot's bean: ProcessorMetrics does what it can
        }
        CpuLoad load = new CpuLoad(os);
        Gauge.builder("system.cpu.usage", load, CpuLoad::system)
                .description("The \"recent cpu usage\" of the system the application is running in")
                .strongReference(true).register(registry);
        Gauge.builder("process.cpu.usage", load, CpuLoad::process)
                .description("The \"recent cpu usage\" for the Java Virtual Machine process")
                .strongReference(true).register(registry);
    }

    private synchronized double system() {
        refresh();
        return system;
    }

    private synchronized double process() {
        refresh();
        return process;
    }

    private void refresh() {
        long now = System.nanoTime();
        if (read && now - readAt < REFRESH_NANOS) {
            return;
        }
        system = os.getCpuLoad();
        process = os.getProcessCpuLoad();
        readAt = now;
        read = true;
    }
}
