package io.tandem.ha.announce;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One BIRD 2 process that this node owns: started in the foreground under
 * {@code setpriv --pdeathsig KILL}, so that the kernel kills it the moment the thread that started
 * it dies — with {@code kill -9} of this JVM too. Its BGP sessions then close (the kernel sends the
 * FIN of its sockets) and the router withdraws this node's routes without any help from us; a host
 * that dies whole is caught by BFD on the router instead. That thread is the supervisor below, a
 * platform thread that lives exactly as long as this object (a death signal tied to a short-lived
 * thread would kill BIRD when that thread ends, not when the process does). If BIRD exits on its
 * own, the supervisor restarts it after a growing pause (0.2 s, doubling to 5 s).
 */
final class Bird implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Bird.class);
    /** More of birdc's output than this is not read (a status answer is a few hundred bytes). */
    static final int MAX_OUTPUT = 256 * 1024;
    private static final long BIRDC_TIMEOUT_MS = 2_000;

    private final Path bird;
    private final Path birdc;
    private final Path dir;
    private final Path conf;
    private final Path socket;
    private final Thread supervisor;
    private final AtomicLong starts = new AtomicLong();
    private volatile Process process;
    private volatile boolean closed;

    private Bird(Path bird, Path birdc, Path dir) {
        this.bird = bird;
        this.birdc = birdc;
        this.dir = dir;
        this.conf = dir.resolve("bird.conf");
        this.socket = BirdConfig.socket(dir);
        this.supervisor = Thread.ofPlatform().name("tandem-bird").daemon(true).unstarted(this::supervise);
    }

    /**
     * Writes {@code config} to {@code dir/bird.conf}, has BIRD check it ({@code bird -p}: a config
     * it rejects fails the start with BIRD's message), and starts the supervised process.
     */
    static Bird start(Path bird, Path birdc, Path dir, String config) throws IOException {
        requireNonNull(config, "config");
        for (Path p : List.of(bird, birdc)) {
            if (!Files.isExecutable(p)) {
                throw new IOException(p + " is not an executable file (install bird2)");
            }
        }
        if (!onPath("setpriv")) {
            throw new IOException("setpriv is not on the PATH (install util-linux): BIRD must die with this process");
        }
        Files.createDirectories(dir);
        Bird b = new Bird(bird, birdc, dir);
        Path tmp = dir.resolve("bird.conf.tmp");
        Files.writeString(tmp, config);
        Files.move(tmp, b.conf, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Result check = run(List.of(bird.toString(), "-p", "-c", b.conf.toString()), BIRDC_TIMEOUT_MS * 5);
        if (check.code() != 0) {
            throw new IOException("bird rejects " + b.conf + ": " + check.output().strip());
        }
        Files.deleteIfExists(b.socket);
        b.supervisor.start();
        return b;
    }

    private static boolean onPath(String name) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return true;
            }
        }
        return false;
    }

    private void supervise() {
        long pauseMs = 200;
        Path logFile = dir.resolve("bird.log");
        while (!closed) {
            long t0 = System.nanoTime();
            try {
                Process p = new ProcessBuilder("setpriv", "--pdeathsig", "KILL", "--", bird.toString(), "-f", "-c",
                        conf.toString(), "-s", socket.toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                        .start();
                process = p;
                starts.incrementAndGet();
                log.info("bird started pid={} config={} socket={} log={}", p.pid(), conf, socket, logFile);
                if (closed) {
                    p.destroy();
                }
                int code = p.waitFor();
                if (closed) {
                    return;
                }
                log.warn("bird exited code={} (restarting in {} ms; its log: {})", code, pauseMs, logFile);
            } catch (IOException e) {
                log.error("bird not started error=\"{}\" (retrying in {} ms)", e.toString(), pauseMs);
            } catch (InterruptedException e) {
                if (closed) {
                    return;
                }
            }
            if (TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0) > 30) {
                pauseMs = 200; // it ran a while: a new failure, not a crash loop
            }
            try {
                Thread.sleep(pauseMs); // a restart back-off on the supervisor's own thread, not a test wait
            } catch (InterruptedException e) {
                if (closed) {
                    return;
                }
            }
            pauseMs = Math.min(5_000, pauseMs * 2);
        }
    }

    /** How many times BIRD was started (1 = never restarted). */
    long starts() {
        return starts.get();
    }

    long pid() {
        Process p = process;
        return p != null && p.isAlive() ? p.pid() : -1;
    }

    /** BIRD's view of its sessions; {@link BirdStatus#DOWN} when it does not answer. Blocks up to a few seconds. */
    BirdStatus status(List<String> peerNames, List<String> neighbors) {
        Result protocols = birdc("show", "protocols");
        if (protocols.code() != 0 || !protocols.output().contains("BIRD")) {
            return BirdStatus.DOWN;
        }
        Map<String, String[]> rows = BirdStatus.parseProtocols(protocols.output());
        List<BirdStatus.Session> sessions = new ArrayList<>();
        for (int i = 0; i < peerNames.size(); i++) {
            String name = peerNames.get(i);
            String[] row = rows.getOrDefault(name, new String[] {"absent", "", ""});
            java.util.Set<String> exported = "up".equals(row[0])
                    ? BirdStatus.parseRoutes(birdc("show", "route", "export", name).output()) : java.util.Set.of();
            sessions.add(new BirdStatus.Session(name, neighbors.get(i), row[0], row[1], row[2], exported));
        }
        Result bfd = birdc("show", "bfd", "sessions");
        return new BirdStatus(true, sessions, bfd.code() == 0 ? BirdStatus.parseBfd(bfd.output()) : List.of());
    }

    /**
     * Enables or disables protocol {@code name} ({@code birdc enable|disable}); true when BIRD
     * answered that it is so now. A disabled {@code direct} protocol drops its routes, and the BGP
     * sessions withdraw them; enabling it reads the interface again and announces.
     */
    boolean setEnabled(String name, boolean enabled) {
        String verb = enabled ? "enable" : "disable";
        Result r = birdc(verb, name);
        boolean ok = r.code() == 0 && r.output().contains(name + ": ")
                && r.output().contains(enabled ? "enabled" : "disabled");
        if (!ok) {
            log.warn("birdc {} failed protocol={} code={} output=\"{}\"", verb, name, r.code(),
                    r.output().strip().replace('\n', ' '));
        }
        return ok;
    }

    private Result birdc(String... command) {
        List<String> cmd = new ArrayList<>(List.of(birdc.toString(), "-s", socket.toString()));
        cmd.addAll(List.of(command));
        try {
            return run(cmd, BIRDC_TIMEOUT_MS);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        }
    }

    /** Stops BIRD: SIGTERM (it closes its sessions with a BGP Cease: the router withdraws at once), then SIGKILL. */
    @Override
    public void close() {
        closed = true;
        Process p = process;
        if (p != null) {
            p.destroy();
            try {
                if (!p.waitFor(3, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        supervisor.interrupt();
        try {
            supervisor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("bird stopped");
    }

    record Result(int code, String output) {
    }

    /** Runs a command with its output bounded to {@link #MAX_OUTPUT} and its time to {@code timeoutMs}. */
    static Result run(List<String> cmd, long timeoutMs) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                byte[] buf = new byte[8192];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    synchronized (out) {
                        if (out.size() < MAX_OUTPUT) {
                            out.write(buf, 0, Math.min(n, MAX_OUTPUT - out.size()));
                        }
                    }
                }
            } catch (IOException e) {
                // the process went away: what was read is the answer
            }
        });
        try {
            if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timeout after " + timeoutMs + " ms: " + String.join(" ", cmd));
            }
            reader.join(timeoutMs);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        }
        synchronized (out) {
            return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
        }
    }
}
