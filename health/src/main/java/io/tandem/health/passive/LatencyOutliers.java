package io.tandem.health.passive;

import static java.util.Objects.requireNonNull;

import io.tandem.config.LatencyEjection;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Decides which backends of a VIP are latency outliers over one window (a gray failure: the
 * backend answers, slowly). A backend is slow when its mean latency over the window is at least
 * {@code factor} times the median of the <em>other</em> judged backends' means and at least
 * {@code min_latency}. Only backends with {@code min_samples} connections in the window are
 * judged or count in a median, and nothing is judged unless {@code min_backends} are.
 *
 * <p>The median of the others, not of all: with two or three backends one slow backend drags a
 * median that includes it (two backends of 1 ms and 300 ms have a median of 150 ms, and 300 is
 * not three times that). A median, not a mean: one slow backend does not hide another. Envoy's
 * success-rate detection uses mean and standard deviation, which needs more hosts than a layer-4
 * pool usually has.
 *
 * <p>Pure: no clock, no I/O; the caller samples the counters and acts on the verdicts (through
 * {@link OutlierDetector#eject}, which applies the back-off and the maximum ejected fraction).
 */
public final class LatencyOutliers {

    /** One backend's connections in the window and the sum of their latencies. */
    public record Sample(long count, long totalNanos) {
        public Sample {
            if (count < 0 || totalNanos < 0) {
                throw new IllegalArgumentException("sample: " + count + " connections, " + totalNanos
                        + " ns (expected >= 0)");
            }
        }

        public long meanNanos() {
            return count == 0 ? 0 : totalNanos / count;
        }
    }

    /** A backend found slow, with what it was compared against (for the reason shown). */
    public record Verdict<K>(K backend, long meanNanos, long medianOthersNanos, long count) {
        public Verdict {
            requireNonNull(backend, "backend");
        }

        /** {@code mean latency 312 ms over 40 connections, 104.0x the median of the others (3 ms)}. */
        public String reason() {
            double ratio = medianOthersNanos == 0 ? Double.POSITIVE_INFINITY : (double) meanNanos / medianOthersNanos;
            return "slow: mean latency " + millis(meanNanos) + " ms over " + count + " connections, "
                    + (Double.isInfinite(ratio) ? "inf" : String.format(java.util.Locale.ROOT, "%.1f", ratio))
                    + "x the median of the others (" + millis(medianOthersNanos) + " ms)";
        }

        private static String millis(long nanos) {
            return String.format(java.util.Locale.ROOT, "%.1f", nanos / (double) TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    private LatencyOutliers() {
    }

    /**
     * The slow backends of one window, slowest first (so the cap on ejections keeps the worst out).
     *
     * @param window each backend in rotation and its sample; backends out of rotation should not be
     *               passed (their few samples would skew nothing, but they are not to be judged)
     */
    public static <K> List<Verdict<K>> slow(LatencyEjection settings, Map<K, Sample> window) {
        requireNonNull(settings, "settings");
        requireNonNull(window, "window");
        List<Map.Entry<K, Sample>> judged = new ArrayList<>();
        for (Map.Entry<K, Sample> e : window.entrySet()) {
            if (e.getValue().count() >= settings.minSamples()) {
                judged.add(e);
            }
        }
        if (judged.size() < Math.max(2, settings.minBackends())) {
            return List.of();
        }
        long minNanos = settings.minLatency().toNanos();
        long[] means = new long[judged.size()];
        for (int i = 0; i < means.length; i++) {
            means[i] = judged.get(i).getValue().meanNanos();
        }
        List<Verdict<K>> slow = new ArrayList<>();
        for (int i = 0; i < means.length; i++) {
            long mean = means[i];
            if (mean < minNanos) {
                continue;
            }
            long median = medianWithout(means, i);
            if (mean >= settings.factor() * median) {
                slow.add(new Verdict<>(judged.get(i).getKey(), mean, median, judged.get(i).getValue().count()));
            }
        }
        slow.sort(Comparator.comparingLong((Verdict<K> v) -> v.meanNanos()).reversed());
        return List.copyOf(slow);
    }

    /** The median of {@code values} without the one at {@code skip} (the mean of the two middle ones when even). */
    static long medianWithout(long[] values, int skip) {
        long[] others = new long[values.length - 1];
        for (int i = 0, j = 0; i < values.length; i++) {
            if (i != skip) {
                others[j++] = values[i];
            }
        }
        Arrays.sort(others);
        int n = others.length;
        return n % 2 == 1 ? others[n / 2] : (others[n / 2 - 1] + others[n / 2]) / 2;
    }
}
