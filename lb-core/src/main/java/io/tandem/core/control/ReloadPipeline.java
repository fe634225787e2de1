package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.core.control.NodeControl.ReloadOutcome;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Runs reloads on a thread of their own, one at a time, so reading, parsing and validating a
 * config file — which a pathological file can stretch to tens of seconds — and looking its host
 * names up never hold the control loop: health verdicts, discovery updates and admin calls go on
 * meanwhile, and only the swap itself is posted to the loop.
 *
 * <p>Requests coalesce: while a reload runs, any number of further requests share <em>one</em>
 * next run, which starts when the current one ends and re-reads the source then — so the last
 * write is always read once more, and a burst of SIGHUPs or file events costs at most two runs.
 *
 * <p>Nothing escapes: whatever a run throws, {@link Error}s such as {@link OutOfMemoryError}
 * included, becomes the outcome {@code crashed} makes of it, and every caller gets an answer.
 */
final class ReloadPipeline implements AutoCloseable {
    private final ExecutorService thread = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("tandem-reload").daemon(true).factory());
    private final Supplier<ReloadOutcome> run;
    private final Function<Throwable, ReloadOutcome> crashed;
    // Guarded by this.
    private CompletableFuture<ReloadOutcome> running;
    private CompletableFuture<ReloadOutcome> queued;
    private boolean closed;

    /**
     * @param run     one whole reload, on the reload thread: read, validate, prepare, apply (waits for the loop)
     * @param crashed the outcome of a run that threw (logs and counts it)
     */
    ReloadPipeline(Supplier<ReloadOutcome> run, Function<Throwable, ReloadOutcome> crashed) {
        this.run = requireNonNull(run, "run");
        this.crashed = requireNonNull(crashed, "crashed");
    }

    /** Asks for a reload; completes with its outcome (the next run's, when one is running now). */
    CompletableFuture<ReloadOutcome> request() {
        CompletableFuture<ReloadOutcome> start = null;
        CompletableFuture<ReloadOutcome> answer;
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(new IllegalStateException("the node is stopping"));
            }
            if (running == null) {
                running = start = answer = new CompletableFuture<>();
            } else {
                if (queued == null) {
                    queued = new CompletableFuture<>();
                }
                answer = queued;
            }
        }
        if (start != null) {
            submit(start);
        }
        return answer;
    }

    /** Runs {@code task} on the reload thread, in turn with reloads (the first apply at start). */
    CompletableFuture<ReloadOutcome> runAlone(Supplier<ReloadOutcome> task) {
        requireNonNull(task, "task");
        CompletableFuture<ReloadOutcome> f = new CompletableFuture<>();
        try {
            thread.execute(() -> f.complete(guarded(task)));
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new IllegalStateException("the node is stopping"));
        }
        return f;
    }

    private void submit(CompletableFuture<ReloadOutcome> f) {
        try {
            thread.execute(() -> runOnce(f));
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new IllegalStateException("the node is stopping"));
        }
    }

    private void runOnce(CompletableFuture<ReloadOutcome> f) {
        ReloadOutcome outcome = null;
        Throwable failure = null;
        try {
            outcome = guarded(run);
        } catch (Throwable t) { // crashed() itself failed (out of memory twice): still answer
            failure = t;
        }
        CompletableFuture<ReloadOutcome> next;
        synchronized (this) {
            running = closed ? null : queued;
            queued = null;
            next = running;
        }
        if (failure == null) {
            f.complete(outcome);
        } else {
            f.completeExceptionally(failure);
        }
        if (next != null) {
            submit(next);
        }
    }

    private ReloadOutcome guarded(Supplier<ReloadOutcome> task) {
        try {
            return task.get();
        } catch (Throwable t) {
            return crashed.apply(t);
        }
    }

    /** Stops the thread; a reload still running or queued completes exceptionally. */
    @Override
    public void close() {
        CompletableFuture<ReloadOutcome> r;
        CompletableFuture<ReloadOutcome> q;
        synchronized (this) {
            closed = true;
            r = running;
            q = queued;
            running = null;
            queued = null;
        }
        // Answer first: an interrupted run may still return (and must not look applied then).
        IllegalStateException stopping = new IllegalStateException("the node is stopping");
        if (r != null) {
            r.completeExceptionally(stopping);
        }
        if (q != null) {
            q.completeExceptionally(stopping);
        }
        thread.shutdownNow();
    }
}
