#!/usr/bin/python3
"""Tandem perf harness: Tandem beside HAProxy and nginx (and direct) in one run, on loopback.

Every proxy under test is started once; each measurement is repeated --reps times with the
proxies interleaved in rotated order (A B C, B C A, ...), so drift on a shared machine spreads
over all of them. Results: median and min-max per cell, ratios to the best peer, CPU from
/proc (the steadiest figure on a shared machine), a markdown report and PNG plots.

Run through ../bench (it installs the tools and builds Tandem). All traffic stays on 127.0.0.1,
every load is bounded in time.
"""
import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, TANDEM_FLAGS, cpu_seconds, java, machine, sh, tree, wait_port

# Backend ports (shared by every proxy) and one block of front ports per proxy.
IPERF_PORT = 25201
HTTP_BACKENDS = (25301, 25302)
HOLD_PORT = 25401
UDP_ECHO_PORT = 25501
FRONT = {"direct": None, "haproxy-splice": 26000, "haproxy": 26100, "nginx": 26200, "tandem": 26300,
         "tandem-copy": 26400, "nginx-halfclose": 26500, "tandem-x": 26600}
# offsets inside a proxy's block
BULK, HTTP, IDLE, UDP = 1, 2, 3, 4
PERF_JAR = ROOT / "perf" / "target" / "benchmarks.jar"


class Proc:
    def __init__(self, name, cmd, ports, env=None):
        self.name = name
        self.log = open(WORK / f"{name}.log", "w")
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
        try:
            for port in ports:
                wait_port(port, proc=self.p)
        except RuntimeError as e:
            self.stop()
            tail = (WORK / f"{name}.log").read_text()[-2000:]
            raise RuntimeError(f"{name}: {e}; its output:\n{tail}") from None

    def pids(self):
        return tree(self.p.pid)

    def stop(self):
        try:
            os.killpg(self.p.pid, signal.SIGTERM)
            self.p.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---------------------------------------------------------------- backends and proxies

def start_backends():
    procs = [Proc("iperf3-server", ["iperf3", "-s", "-p", str(IPERF_PORT)], [IPERF_PORT])]
    conf = WORK / "nginx-backend.conf"
    servers = "\n".join(f"""
        server {{ listen 127.0.0.1:{p} backlog=4096; keepalive_requests 1000000; access_log off;
                  location / {{ return 200 "hello from {p}\\n"; }} }}""" for p in HTTP_BACKENDS)
    conf.write_text(f"""
        daemon off; worker_processes 1; pid {WORK}/nginx-backend.pid; error_log {WORK}/nginx-backend.err;
        events {{ worker_connections 20000; }}
        http {{ {servers} }}
    """)
    procs.append(Proc("nginx-backend", ["nginx", "-c", str(conf), "-p", str(WORK)], HTTP_BACKENDS))
    # UDP echo backend; UDP has no port to wait for. It lives for the whole run (a full run takes
    # 10-15 min; it used to stop after 600 s and fail the last UDP cells), still bounded (3600 s).
    if UDP_ECHO == "c":
        cmd = [str(udp_tool("udp_echo_server")), f"127.0.0.1:{UDP_ECHO_PORT}", "3600"]
    else:
        cmd = [java(), "--enable-native-access=ALL-UNNAMED", "-cp", str(PERF_JAR),
               "io.tandem.perf.udp.UdpEchoServer", f"127.0.0.1:{UDP_ECHO_PORT}", "1", "3600"]
    procs.append(Proc("udp-echo", cmd, []))
    return procs


def haproxy_cfg(base, splice):
    return f"""
global
    nbthread {os.cpu_count()}
    maxconn 7000
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    {"option splice-auto" if splice else ""}
listen bulk
    bind 127.0.0.1:{base + BULK}
    server s1 127.0.0.1:{IPERF_PORT}
listen http
    bind 127.0.0.1:{base + HTTP}
    balance roundrobin
    server s1 127.0.0.1:{HTTP_BACKENDS[0]}
    server s2 127.0.0.1:{HTTP_BACKENDS[1]}
listen idle
    bind 127.0.0.1:{base + IDLE}
    server s1 127.0.0.1:{HOLD_PORT}
"""


def nginx_cfg(base, tag="nginx-proxy", half_close=False):
    """nginx stream. half_close: proxy_half_close on (nginx >= 1.21.4; off by default), so a FIN
    from one side is passed on as a half-close and the other direction stays open, as Tandem and
    HAProxy do; by default nginx closes both sides when either side closes."""
    hc = " proxy_half_close on;" if half_close else ""
    return f"""
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off; worker_processes {os.cpu_count()}; pid {WORK}/{tag}.pid; error_log {WORK}/{tag}.err;
worker_rlimit_nofile 20000;
events {{ worker_connections 20000; }}
stream {{
    upstream bulk {{ server 127.0.0.1:{IPERF_PORT}; }}
    upstream http {{ server 127.0.0.1:{HTTP_BACKENDS[0]}; server 127.0.0.1:{HTTP_BACKENDS[1]}; }}
    upstream idle {{ server 127.0.0.1:{HOLD_PORT}; }}
    server {{ listen 127.0.0.1:{base + BULK}; proxy_pass bulk;{hc} }}
    server {{ listen 127.0.0.1:{base + HTTP} backlog=4096; proxy_pass http;{hc} }}
    server {{ listen 127.0.0.1:{base + IDLE}; proxy_pass idle;{hc} }}
    upstream udpecho {{ server 127.0.0.1:{UDP_ECHO_PORT}; }}
    server {{ listen 127.0.0.1:{base + UDP} udp reuseport; proxy_pass udpecho; }}
}}
"""


def tandem_cfg(base, relay):
    return f"""
admin:
  enabled: false
vips:
  - name: bulk
    listen: 127.0.0.1:{base + BULK}
    relay: {relay}
    backends: [127.0.0.1:{IPERF_PORT}]
  - name: http
    listen: 127.0.0.1:{base + HTTP}
    relay: {relay}
    backends: [127.0.0.1:{HTTP_BACKENDS[0]}, 127.0.0.1:{HTTP_BACKENDS[1]}]
  - name: idle
    listen: 127.0.0.1:{base + IDLE}
    relay: {relay}
    backends: [127.0.0.1:{HOLD_PORT}]
  - name: udp
    listen: 127.0.0.1:{base + UDP}
    protocol: udp
    backends: [127.0.0.1:{UDP_ECHO_PORT}]
    udp: {{max_datagram_size: 2048}}
"""


def start_proxy(name):
    base = FRONT[name]
    ports = [base + BULK, base + HTTP, base + IDLE]
    if name.startswith("haproxy"):
        cfg = WORK / f"{name}.cfg"
        cfg.write_text(haproxy_cfg(base, splice=name == "haproxy-splice"))
        return Proc(name, ["haproxy", "-db", "-f", str(cfg)], ports)
    if name.startswith("nginx"):
        cfg = WORK / f"{name}-proxy.conf"
        cfg.write_text(nginx_cfg(base, f"{name}-proxy", half_close=name == "nginx-halfclose"))
        return Proc(name, ["nginx", "-c", str(cfg), "-p", str(WORK)], ports)
    if name.startswith("tandem"):
        cfg = WORK / f"{name}.yaml"
        text = tandem_cfg(base, "copy" if name == "tandem-copy" else "auto")
        extra = os.environ.get("TANDEM_X_VIP_EXTRA", "") if name == "tandem-x" else ""
        if extra:
            # Keys added to every TCP VIP of tandem-x (one YAML line each, e.g. an acl and
            # limits.per_client): the same build with and without a feature in one run.
            lines = "".join(f"    {line}\n" for line in extra.splitlines() if line.strip())
            text = re.sub(r"(    relay: \w+\n)", lambda m: m.group(1) + lines, text)
        cfg.write_text(text)
        flags = os.environ.get("TANDEM_JAVA_OPTS", TANDEM_FLAGS).split()  # the launcher's flags
        jar = ROOT / "lb-core/target/tandem.jar"
        if name == "tandem-x":
            flags += os.environ.get("TANDEM_X_OPTS", "").split()
            # Another build side by side (old jar vs new jar in one run).
            jar = Path(os.environ.get("TANDEM_X_JAR", str(jar)))
        return Proc(name, [java(), *flags, "--enable-native-access=ALL-UNNAMED", "-jar",
                           str(jar), "run", "--no-watch", "--config", str(cfg)],
                    ports)
    raise ValueError(name)


def no_udp(name):
    """HAProxy OSS has no generic UDP proxying; proxy_half_close means nothing to UDP (nginx covers it)."""
    return name.startswith("haproxy") or name == "nginx-halfclose"


def port_of(name, offset):
    if name == "direct":
        return {BULK: IPERF_PORT, HTTP: HTTP_BACKENDS[0], IDLE: HOLD_PORT, UDP: UDP_ECHO_PORT}[offset]
    return FRONT[name] + offset


# ---------------------------------------------------------------- measurements

def run_iperf(port, streams, duration):
    out = sh(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(duration), "-P", str(streams), "-J",
              "--connect-timeout", "3000"], timeout=duration + 30).stdout
    j = json.loads(out)
    return j["end"]["sum_received"]["bits_per_second"], j["end"]["sum_received"]["bytes"]


WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_REQS = re.compile(r"(\d+) requests in")
WRK_ERR = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def run_wrk(port, duration, close):
    cmd = ["wrk", "-t2", "-c64", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = sh(cmd + [f"http://127.0.0.1:{port}/"], timeout=duration + 30).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
    lat = {p: float(v) * unit[u] for p, v, u in WRK_LAT.findall(out)}
    errors = 0
    for m in WRK_ERR.finditer(out):
        errors += sum(int(x) for x in m.groups() if x)
    return float(WRK_RPS.search(out).group(1)), lat.get("50"), lat.get("99"), int(WRK_REQS.search(out).group(1)), errors


UDP_OUT = re.compile(r"echoes=(\d+) echoes_per_s=(\d+) lost=\d+ loss=([\d.]+)% late=\d+ rtt_p50_us=-?\d+ rtt_p99_us=(-?\d+)")


# UDP load tool and echo backend: "c" (default) = perf/src/main/c/udp_echo_{load,server}.c,
# compiled here with gcc into perf/target/; "java" = io.tandem.perf.udp.UdpEchoLoad/UdpEchoServer
# (Netty). Same load either way (64 sockets, each its own source port, 4 in flight, 64 B, 1 s loss
# timeout, same output line); the C pair costs ~3x less CPU per echo, so on a shared 2-core machine
# more of it is left to the proxy under test (perf/UDP.md, session 3). Set by main() from
# --udp-load / --udp-echo.
UDP_LOAD = "c"
UDP_ECHO = "c"
C_SOURCES = ROOT / "perf" / "src" / "main" / "c"


def udp_tool(name):
    """perf/target/NAME built from perf/src/main/c/NAME.c (rebuilt when the source is newer)."""
    src, out = C_SOURCES / f"{name}.c", ROOT / "perf" / "target" / name
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        if shutil.which("gcc") is None:
            print("bench: installing gcc for the C UDP tools", file=sys.stderr, flush=True)
            # perf/bench installs it; this covers running bench.py directly
            sh("apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null")
        out.parent.mkdir(parents=True, exist_ok=True)
        sh(["gcc", "-O2", "-Wall", "-o", str(out), str(src)])
    return out


UDP_EXTRA = re.compile(r"corrupt=(\d+)")


def run_udp(port, duration, pids=()):
    """Closed-loop UDP echo: 64 sockets x 4 datagrams in flight, 64-byte payload (UDP_LOAD tool).

    The proxy's CPU (pids) is sampled over exactly the measured window (from the tool's
    "measuring" line to its result), not over the tool's start and 1-s warm-up, which
    are not in the echo count either. Returns (echoes/s, loss %, p99 ms, echoes, proxy CPU s,
    corrupt echoes (C tool: wrong socket or payload; -1 = not checked))."""
    args = [f"127.0.0.1:{port}", "64", "4", "64", str(duration)]
    if UDP_LOAD == "c":
        cmd = [str(udp_tool("udp_echo_load")), *args]
    else:
        cmd = [java(), "--enable-native-access=ALL-UNNAMED", "-cp", str(PERF_JAR), "io.tandem.perf.udp.UdpEchoLoad",
               *args, "1"]
    import threading  # local: only the UDP runner needs it
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def kill():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    killer = threading.Timer(duration + 60, kill)  # bounded even if the tool hangs without output
    killer.start()
    lines, c0, cpu = [], None, None
    try:
        for line in p.stdout:
            lines.append(line)
            if line.startswith("udp echo load measuring"):
                c0 = cpu_seconds(pids)
            elif UDP_OUT.search(line) and c0 is not None:
                cpu = cpu_seconds(pids) - c0
        p.wait()
    finally:
        killer.cancel()
        if p.poll() is None:
            kill()
            p.wait()
    out = "".join(lines)
    m = UDP_OUT.search(out)
    if not m:
        raise RuntimeError(f"unexpected UDP load tool output: {out[-500:]}")
    c = UDP_EXTRA.search(out)
    return float(m.group(2)), float(m.group(3)), int(m.group(4)) / 1000.0, int(m.group(1)), cpu, \
        int(c.group(1)) if c else -1


class Holder:
    """Backend that accepts connections and holds them open, counting them."""

    def __init__(self):
        self.count = 0
        self.writers = []

    async def handle(self, reader, writer):
        self.count += 1
        self.writers.append(writer)
        await reader.read()  # until EOF


# ---------------------------------------------------------------- memory per idle connection
#
# An RSS delta on a long-running proxy says little: a JVM's heap is committed up front, and
# every allocator (glibc malloc, HAProxy's pools, the JVM's GC) keeps memory freed by earlier
# repetitions and hands it out again, so a second fill costs "nothing" (0.00-0.17 KiB/conn in
# earlier runs). So each repetition measures a FRESH instance of the proxy (its own ports,
# FRONT + MEM_SHIFT), with no caches of freed memory beyond its own warm-up:
#   private: growth of the process tree's private memory (smaps_rollup Private_Clean +
#            Private_Dirty, all pids summed) from 0 to N idle proxied connections: what the OS
#            must give the proxy. Same method for every proxy.
#   JVM only: live heap after a full GC (jcmd GC.run, then GC.heap_info "used") and native
#            memory (NMT summary, committed), both taken at 0 and at N connections. Native
#            leaves out the heap and the categories that move by megabytes with JIT and class
#            loading whatever the connections do (Compiler, Arena Chunk, Code, Class, Symbol,
#            Metaspace, Shared class space, NMT itself): per-connection native memory (direct
#            buffers, JNI, thread-local caches) lands in the others ("Other", "Internal", ...). The JVM's private growth is reported too, but it
#            measures heap sizing (eden pages first touched by garbage), not connections; its
#            row value is live heap + native.
# Kernel memory is excluded for every proxy: each proxied connection is 2 TCP sockets in any
# proxy (same slab objects: TCP, sock_inode_cache, filp, dentry), idle sockets queue no bytes.
MEM_SHIFT = 50
MEM_WARMUP = 200  # connections opened and closed first: lazy initialisation, class loading, JIT


def tandem_jar(name):
    return ROOT / "lb-core/target/tandem.jar"


def start_memory_instance(name):
    base = FRONT[name] + MEM_SHIFT
    ports = [base + BULK, base + HTTP, base + IDLE]
    if name.startswith("haproxy"):
        cfg = WORK / f"{name}-mem.cfg"
        cfg.write_text(haproxy_cfg(base, splice=name == "haproxy-splice"))
        return Proc(f"{name}-mem", ["haproxy", "-db", "-f", str(cfg)], ports)
    if name.startswith("nginx"):
        cfg = WORK / f"{name}-mem.conf"
        cfg.write_text(nginx_cfg(base, f"{name}-mem", half_close=name == "nginx-halfclose"))
        return Proc(f"{name}-mem", ["nginx", "-c", str(cfg), "-p", str(WORK)], ports)
    if name.startswith("tandem"):
        cfg = WORK / f"{name}-mem.yaml"
        text = tandem_cfg(base, "copy" if name == "tandem-copy" else "auto")
        extra = os.environ.get("TANDEM_X_VIP_EXTRA", "") if name == "tandem-x" else ""
        if extra:
            # Keys added to every TCP VIP of tandem-x (one YAML line each, e.g. an acl and
            # limits.per_client): the same build with and without a feature in one run.
            lines = "".join(f"    {line}\n" for line in extra.splitlines() if line.strip())
            text = re.sub(r"(    relay: \w+\n)", lambda m: m.group(1) + lines, text)
        cfg.write_text(text)
        flags = os.environ.get("TANDEM_JAVA_OPTS", TANDEM_FLAGS).split()
        return Proc(f"{name}-mem", [java(), *flags, "-XX:NativeMemoryTracking=summary",
                                    "--enable-native-access=ALL-UNNAMED", "-jar", str(tandem_jar(name)), "run",
                                    "--no-watch", "--config", str(cfg)], ports)
    raise ValueError(name)


def private_kib(pids):
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


NMT_CATEGORY = re.compile(r"^-\s+(.+?) \(reserved=\d+KB, committed=(\d+)KB", re.M)
NMT_VOLATILE = {"Java Heap", "Native Memory Tracking", "Compiler", "Arena Chunk", "Code", "Class", "Symbol",
                "Metaspace", "Shared class space"}


def jvm_live_kib(pid):
    """(live heap after a full GC, native committed without heap and NMT itself), KiB."""
    jcmd = str(Path(java()).parent / "jcmd")
    # One full GC is not enough: it clears weak references, but caches keyed by them (MethodType
    # interning, class-spinning tables filled by the warm-up's lambda forms) drop their entries
    # only when next touched, so ~1 MB of dead entries stays "used" until a later GC. That made the
    # 0-connection baseline larger than the N-connection reading (negative KiB/conn). So: full GCs
    # until "used" stops falling (at most 5).
    used = None
    for _ in range(5):
        sh([jcmd, str(pid), "GC.run"], timeout=60)
        heap = sh([jcmd, str(pid), "GC.heap_info"], timeout=60).stdout
        now = int(re.search(r"used (\d+)K", heap).group(1))
        if used is not None and now >= used - 16:
            used = min(used, now)
            break
        used = now
    nmt = sh([jcmd, str(pid), "VM.native_memory", "summary", "scale=KB"], timeout=60).stdout
    cats = {name: int(kb) for name, kb in NMT_CATEGORY.findall(nmt)}
    return used, sum(kb for name, kb in cats.items() if name not in NMT_VOLATILE), cats


async def open_idle(port, n, holder):
    """n connections through the proxy, each reaching the holder backend; returns (writers, established)."""
    start_count = holder.count
    conns = []
    for i in range(n):
        for attempt in range(5):  # a full accept backlog on a loaded box resets a SYN now and then
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port)
                break
            except ConnectionError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.1)
        conns.append(w)
        if i % 200 == 199:
            await asyncio.sleep(0.01)
    deadline = time.time() + 30
    while holder.count - start_count < n and time.time() < deadline:
        await asyncio.sleep(0.05)
    return conns, holder.count - start_count


async def close_idle(conns, holder):
    for w in conns:
        w.close()
    for w in holder.writers:
        w.close()
    holder.writers.clear()
    await asyncio.sleep(1.0)


def idle_memory(name, n, holder, loop):
    """Memory per idle proxied connection of a fresh instance of proxy `name` (see above)."""
    proc = start_memory_instance(name)
    try:
        pids = proc.pids()
        port = FRONT[name] + MEM_SHIFT + IDLE
        conns, _ = loop.run_until_complete(open_idle(port, MEM_WARMUP, holder))
        loop.run_until_complete(close_idle(conns, holder))
        jvm = name.startswith("tandem")
        live0 = jvm_live_kib(proc.p.pid) if jvm else None
        time.sleep(0.5)
        priv0 = private_kib(pids)
        conns, established = loop.run_until_complete(open_idle(port, n, holder))
        loop.run_until_complete(asyncio.sleep(1.0))
        priv1 = private_kib(proc.pids())
        live1 = jvm_live_kib(proc.p.pid) if jvm else None
        loop.run_until_complete(close_idle(conns, holder))
    finally:
        proc.stop()
    k = max(1, established)
    out = {"established": established, "private_kib": (priv1 - priv0) / k}
    if live0:
        out["heap_kib"] = (live1[0] - live0[0]) / k
        out["native_kib"] = (live1[1] - live0[1]) / k
        out["nmt_delta_kib"] = {c: live1[2][c] - live0[2].get(c, 0) for c in live1[2]
                                if live1[2][c] != live0[2].get(c, 0)}
        out["value"] = out["heap_kib"] + out["native_kib"]
    else:
        out["value"] = out["private_kib"]
    return out


# ---------------------------------------------------------------- the run

def median_cell(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per load cell (bounded)")
    ap.add_argument("--idle-conns", type=int, default=3000)
    ap.add_argument("--proxies", default="direct,haproxy-splice,haproxy,nginx,nginx-halfclose,tandem,tandem-copy")
    ap.add_argument("--only", default="bulk1,bulk4,keepalive,newconn,idle,udp")
    ap.add_argument("--tcp-warmup", type=int, default=10,
                    help="seconds of untimed keep-alive and new-connection load through every proxy first (JIT)")
    ap.add_argument("--udp-warmup", type=int, default=10,
                    help="seconds of untimed UDP load through each proxy before the udp reps (0 = none)")
    ap.add_argument("--udp-load", choices=("c", "java"), default="c",
                    help="UDP load generator: c (perf/src/main/c, built with gcc) or java (UdpEchoLoad)")
    ap.add_argument("--udp-echo", choices=("c", "java"), default="c",
                    help="UDP echo backend: c (perf/src/main/c, built with gcc) or java (UdpEchoServer)")
    ap.add_argument("--out", default=str(ROOT / "perf" / "results" / "latest"))
    args = ap.parse_args()
    global UDP_LOAD, UDP_ECHO
    UDP_LOAD, UDP_ECHO = args.udp_load, args.udp_echo
    if args.duration > 60 or args.reps > 10 or args.idle_conns > 5000:
        sys.exit("bench: bounds are duration<=60, reps<=10, idle-conns<=5000 (fd limit 20000: 2 per conn here, 2 in the proxy)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    global WORK
    WORK = Path(tempfile.mkdtemp(prefix="tandem-perf-"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    proxies = args.proxies.split(",")
    tests = args.only.split(",")

    holder = Holder()
    loop = asyncio.new_event_loop()
    hold_server = loop.run_until_complete(asyncio.start_server(holder.handle, "127.0.0.1", HOLD_PORT, backlog=4096))

    running = start_backends()
    procs = {}
    results = {t: {p: [] for p in proxies} for t in ["bulk1", "bulk4", "keepalive", "newconn", "idle", "udp"]}
    extra = {t: {p: [] for p in proxies} for t in results}
    try:
        for p in proxies:
            if p != "direct":
                procs[p] = start_proxy(p)
                running.append(procs[p])
        time.sleep(1)
        if ("keepalive" in tests or "newconn" in tests) and args.tcp_warmup > 0:
            # Untimed TCP load through every proxy first (same for all; the JVM's JIT is the one that
            # needs it: a cold Tandem cell costs ~2.5x the CPU per connection of a warm one).
            for p in proxies:
                for close in (False, True):
                    rps = run_wrk(port_of(p, HTTP), min(args.tcp_warmup, 60), close=close)[0]
                    print(f"warm-up {p:15s} {'newconn' if close else 'keepalive':9s} {rps:.0f} (not counted)",
                          flush=True)
        if "udp" in tests and args.udp_warmup > 0:
            # Same untimed load through every proxy first (and direct: the echo backend and the load
            # tool warm up too), so the reps compare JIT-compiled steady states, not a JVM compiling.
            for p in proxies:
                if not no_udp(p):
                    eps = run_udp(port_of(p, UDP), min(args.udp_warmup, 60))[0]
                    print(f"warm-up {p:15s} udp       {eps:.0f} (not counted)", flush=True)
        for rep in range(args.reps):
            order = proxies[rep % len(proxies):] + proxies[:rep % len(proxies)]
            for p in order:
                pids = procs[p].pids() if p in procs else []
                for t in tests:
                    c0 = cpu_seconds(pids)
                    if t in ("bulk1", "bulk4"):
                        bps, nbytes = run_iperf(port_of(p, BULK), 1 if t == "bulk1" else 4, args.duration)
                        cpu = cpu_seconds(pids) - c0
                        results[t][p].append(bps / 1e9)
                        extra[t][p].append(cpu / (nbytes / 1e9) if pids else None)
                    elif t in ("keepalive", "newconn"):
                        rps, p50, p99, reqs, errs = run_wrk(port_of(p, HTTP), args.duration, close=t == "newconn")
                        cpu = cpu_seconds(pids) - c0
                        results[t][p].append(rps)
                        extra[t][p].append({"p50_ms": p50, "p99_ms": p99, "errors": errs,
                                            "cpu_us_per_req": cpu * 1e6 / reqs if pids and reqs else None})
                    elif t == "udp":
                        if no_udp(p):
                            continue
                        eps, loss, p99, echoes, cpu, corrupt = run_udp(port_of(p, UDP), args.duration, pids)
                        results[t][p].append(eps)
                        extra[t][p].append({"loss_pct": loss, "p99_ms": p99, "corrupt": corrupt,
                                            "cpu_us_per_echo": cpu * 1e6 / echoes if pids and echoes else None})
                    elif t == "idle":
                        if not pids:
                            continue
                        mem = idle_memory(p, args.idle_conns, holder, loop)
                        results[t][p].append(mem["value"])
                        extra[t][p].append(mem)
                    print(f"rep {rep + 1}/{args.reps} {p:15s} {t:9s} {results[t][p][-1] if results[t][p] else '-'}",
                          flush=True)
    finally:
        for pr in running:
            pr.stop()
        hold_server.close()

    summary = {"machine": machine(), "args": vars(args), "results": {}}
    for t in results:
        summary["results"][t] = {}
        for p in proxies:
            cell = median_cell(results[t][p])
            if cell is None:
                continue
            ex = extra[t][p]
            if t in ("bulk1", "bulk4"):
                cell["cpu_s_per_gb"] = median_cell([e for e in ex if e is not None])
            elif t in ("keepalive", "newconn"):
                cell["p50_ms"] = median_cell([e["p50_ms"] for e in ex])
                cell["p99_ms"] = median_cell([e["p99_ms"] for e in ex])
                cell["errors"] = sum(e["errors"] for e in ex)
                cell["cpu_us_per_req"] = median_cell([e["cpu_us_per_req"] for e in ex if e["cpu_us_per_req"]])
            elif t == "udp":
                cell["loss_pct"] = median_cell([e["loss_pct"] for e in ex])
                cell["p99_ms"] = median_cell([e["p99_ms"] for e in ex])
                cell["cpu_us_per_req"] = median_cell([e["cpu_us_per_echo"] for e in ex if e["cpu_us_per_echo"]])
                cell["corrupt"] = sum(e["corrupt"] for e in ex) if all(e["corrupt"] >= 0 for e in ex) else None
            elif t == "idle":
                cell["established"] = min(e["established"] for e in ex)
                cell["private_kib"] = median_cell([e["private_kib"] for e in ex])
                if any("heap_kib" in e for e in ex):
                    cell["heap_kib"] = median_cell([e["heap_kib"] for e in ex])
                    cell["native_kib"] = median_cell([e["native_kib"] for e in ex])
                cell["runs"] = ex
            summary["results"][t][p] = cell
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    report = render(summary)
    (out / "report.md").write_text(report)
    plot(summary, out)
    print(report)
    shutil.rmtree(WORK, ignore_errors=True)


LOWER_IS_BETTER = {"idle"}
TITLES = {"bulk1": "bulk TCP, 1 stream (Gbit/s)", "bulk4": "bulk TCP, 4 streams (Gbit/s)",
          "keepalive": "keep-alive HTTP req/s (wrk -c64)", "newconn": "new connection per request, conns/s",
          "idle": "memory per idle proxied connection (KiB; fresh instance; JVM: live heap + native, others: "
                  "private memory growth)",
          "udp": "UDP echo, 64 B datagrams, 64 sockets x 4 in flight (echoes/s)"}
PEERS = ("haproxy-splice", "haproxy", "nginx", "nginx-halfclose")  # for udp only nginx can take part


def fmt(cell, digits=1):
    if not cell:
        return "–"
    m, lo, hi = cell["median"], cell["min"], cell["max"]
    f = f"{{:.{digits}f}}"
    return f"{f.format(m)} ({f.format(lo)}–{f.format(hi)})"


def render(s):
    m = s["machine"]
    lines = [f"# Tandem perf run — {m['date']}", "",
             f"Machine: {m['cores']} cores ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}; "
             f"{m['java']}; {m['haproxy']}; {m['nginx']}. Load generator, proxies and backends share these "
             f"cores. Each cell: median (min–max) of {s['args']['reps']} runs of {s['args']['duration']} s, "
             f"proxies interleaved. Ratio = Tandem ÷ best peer (for memory: best peer ÷ Tandem, so >1 is better).",
             ""]
    res = s["results"]
    for t, title in TITLES.items():
        if t not in res or not res[t]:
            continue
        lines += [f"## {title}", ""]
        cols = ["proxy", "value"]
        if t.startswith("bulk"):
            cols.append("proxy CPU s/GB")
        if t in ("keepalive", "newconn"):
            cols += ["p50 ms", "p99 ms", "proxy CPU µs/req", "errors"]
        if t == "udp":
            cols += ["loss %", "RTT p99 ms", "proxy CPU µs/echo"]
        if t == "idle":
            cols += ["private memory growth KiB/conn", "JVM live heap KiB/conn", "JVM native KiB/conn", "connections"]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for p, cell in res[t].items():
            row = [p, fmt(cell, 2 if t.startswith("bulk") else (2 if t == "idle" else 0))]
            if t.startswith("bulk"):
                row.append(fmt(cell.get("cpu_s_per_gb"), 2))
            if t == "udp":
                row += [fmt(cell.get("loss_pct"), 3), fmt(cell.get("p99_ms"), 2), fmt(cell.get("cpu_us_per_req"), 1)]
            if t == "idle":
                row += [fmt(cell.get("private_kib"), 2), fmt(cell.get("heap_kib"), 2), fmt(cell.get("native_kib"), 2),
                        str(cell.get("established", "–"))]
            if t in ("keepalive", "newconn"):
                row += [fmt(cell.get("p50_ms"), 2), fmt(cell.get("p99_ms"), 2), fmt(cell.get("cpu_us_per_req"), 1),
                        str(cell.get("errors", 0))]
            lines.append("| " + " | ".join(row) + " |")
        ratio = ratio_line(res[t], t)
        if ratio:
            lines += ["", ratio]
        if t == "udp":
            a = s["args"]
            corrupt = {p: c.get("corrupt") for p, c in res[t].items()}
            lines += ["", f"UDP load tool: {a.get('udp_load', 'java')}, echo backend: {a.get('udp_echo', 'java')} "
                          f"(perf/UDP.md); corrupt or crossed echoes: "
                          + ", ".join(f"{p} {'not checked' if v is None else v}" for p, v in corrupt.items())]
        lines.append("")
    return "\n".join(lines)


def ratio_line(cells, t):
    peers = {p: c["median"] for p, c in cells.items() if p in PEERS}
    if not peers:
        return None
    out = []
    for tp in ("tandem", "tandem-copy"):
        if tp not in cells:
            continue
        if t in LOWER_IS_BETTER:
            best = min(peers, key=peers.get)
            if cells[tp]["median"] <= 0:
                # A ratio to zero or a negative figure means nothing: say so instead of "inf×".
                out.append(f"{tp} ÷ best peer ({best}): not a ratio, Tandem's figure is "
                           f"{cells[tp]['median']:.2f} (at or below the measurement's resolution)")
                continue
            r = peers[best] / cells[tp]["median"]
        else:
            best = max(peers, key=peers.get)
            r = cells[tp]["median"] / peers[best]
        out.append(f"{tp} ÷ best peer ({best}) = **{r:.2f}×**")
        if t in ("keepalive", "newconn") and "nginx-halfclose" in cells and best != "nginx-halfclose":
            # The same work as Tandem: a FIN passed on as a half-close (nginx's default closes both sides).
            out.append(f"{tp} ÷ nginx-halfclose = {cells[tp]['median'] / cells['nginx-halfclose']['median']:.2f}×")
    return "Ratio: " + "; ".join(out) if out else None


def plot(s, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib missing, no plots", file=sys.stderr)
        return
    res = {t: c for t, c in s["results"].items() if c}
    fig, axes = plt.subplots(1, len(res), figsize=(4.2 * len(res), 4))
    if len(res) == 1:
        axes = [axes]
    for ax, (t, cells) in zip(axes, res.items()):
        names = list(cells)
        med = [cells[n]["median"] for n in names]
        err = [[cells[n]["median"] - cells[n]["min"] for n in names], [cells[n]["max"] - cells[n]["median"] for n in names]]
        colors = ["#d62728" if n.startswith("tandem") else "#7f7f7f" if n == "direct" else "#1f77b4" for n in names]
        ax.bar(names, med, yerr=err, color=colors, capsize=3)
        ax.set_title(TITLES[t], fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "comparison.png", dpi=110)


if __name__ == "__main__":
    main()
