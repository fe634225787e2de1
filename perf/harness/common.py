"""Helpers shared by the perf harnesses (bench.py, failover.py): subprocess and port waits,
per-process CPU and memory from /proc, the JDK lookup and a description of the machine."""
import os
import platform
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The launcher's JVM flags (./tandem, where they are justified); harnesses run Tandem with these.
TANDEM_FLAGS = "-XX:+UseG1GC -XX:+UseCompactObjectHeaders -XX:+UseTransparentHugePages"
PAGE = os.sysconf("SC_PAGE_SIZE")


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, capture_output=True, text=True, **kw)


def wait_port(port, timeout=30.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open within {timeout}s")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / CLK_TCK


def rss_bytes(pids):
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except FileNotFoundError:
            pass
    return total


def tree(pid):
    """pid and all its descendants (nginx/haproxy workers)."""
    out = [pid]
    try:
        kids = sh(f"pgrep -P {pid}").stdout.split()
    except subprocess.CalledProcessError:
        kids = []
    for k in kids:
        out += tree(int(k))
    return out


def java():
    out = sh(f"bash -c 'source {ROOT}/scripts/find-jdk.sh; tandem_find_java'").stdout.strip()
    return out


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    ver = lambda c: subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip() \
        or subprocess.run(c, shell=True, capture_output=True, text=True).stderr.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(int(mem) / 1048576, 1),
            "kernel": platform.release(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "haproxy": ver("haproxy -v | head -1"), "nginx": ver("nginx -v 2>&1"),
            "java": ver(f"{java()} -version 2>&1 | head -1")}


def tandem_jar():
    """The jar the harnesses run: $TANDEM_JAR when set (a jar built elsewhere), else this tree's build."""
    return Path(os.environ.get("TANDEM_JAR") or ROOT / "lb-core/target/tandem.jar")


def tandem_cmd(java_bin, config):
    """`tandem run` on a config file, with the launcher's JVM flags ($TANDEM_JAVA_OPTS replaces them)."""
    flags = os.environ.get("TANDEM_JAVA_OPTS", TANDEM_FLAGS).split()
    return [java_bin, *flags, "--enable-native-access=ALL-UNNAMED", "-jar", str(tandem_jar()), "run", "--no-watch",
            "--config", str(config)]


def sweep_tagged_rules(tag, chains=("OUTPUT",)):
    """Deletes every iptables rule carrying the comment `tag` (a crashed earlier run may have left some)."""
    for chain in chains:
        try:
            out = subprocess.run(["iptables", "-w", "-S", chain], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return
        for line in out.splitlines():
            if tag in line and line.startswith("-A "):
                subprocess.run(["iptables", "-w", "-D", *line[3:].replace('"', "").split()], capture_output=True,
                               timeout=10)


def load_average():
    return Path("/proc/loadavg").read_text().split()[:3]


def rotated(items, rep):
    """`items` starting at position rep (mod len): each repetition puts another proxy first, so drift on a
    shared machine spreads over all of them."""
    k = rep % len(items)
    return items[k:] + items[:k]


def harness_process_setup():
    """Lifts the open-file limit to its hard cap and turns SIGTERM into KeyboardInterrupt, so a harness
    killed politely still runs its cleanup (processes, iptables rules) and writes what it measured."""
    import resource
    import signal
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
