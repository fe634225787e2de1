package io.tandem.health.check;

import io.netty.channel.EventLoop;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;

/**
 * How a shared check ({@link SharedCheck}, {@link SharedAgent}) reaches its own event loop and
 * hands results to the callback executor: a task is run at once on the loop, handed to it from
 * elsewhere, and dropped (logged) once the loop or the executor has shut down.
 */
final class LoopTasks {
    private LoopTasks() {
    }

    /** Runs {@code task} on {@code loop}: now when called there, else as a task of it. */
    static void onLoop(EventLoop loop, Runnable task, Logger log, String kind, String check) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("{} task dropped, event loop shut down check={}", kind, check);
        }
    }

    /** Hands {@code task} to the callback executor (watchers are called there, never on the loop). */
    static void toCallbacks(Executor callbacks, Runnable task, Logger log, String kind, String check) {
        try {
            callbacks.execute(task);
        } catch (RejectedExecutionException e) {
            log.warn("{} callback dropped, callback executor rejected it check={}", kind, check);
        }
    }
}
