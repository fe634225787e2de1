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
