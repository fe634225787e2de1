#!/usr/bin/python3
"""Tandem failover harness: one of two HTTP backends faulted under load, Tandem beside HAProxy and nginx.

Every cell is one fresh run: two single-process nginx backends (one pid each, so `kill -9` kills the
backend and `SIGSTOP` hangs it with its listening socket still open), one proxy under test, and a
load of 64 concurrent clients opening a new connection per request (`Connection: close`, like
`wrk -c64 -H 'Connection: close'`). At --fault-at seconds into the measured run backend 1 gets
`SIGKILL` (scenario `kill`) or `SIGSTOP` (scenario `stop`, `SIGCONT` after the run).

The load generator is our own (two processes × 32 asyncio clients) because it records every request:
start, end, outcome. That gives client errors after the fault, losses of requests in flight at the
fault instant, throughput per 100 ms, p99 before/after and requests still hanging at the end. Each
request has a 2 s client timeout. Time-to-eject comes from each proxy's own log line, timestamped
as it is read: Tandem `backend ejected` / `backend down`, HAProxy `Server http/s1 is DOWN`, nginx
`upstream server temporarily disabled` (passive, per worker; nginx OSS has no health state).

Cells are repeated --reps times, proxies interleaved in rotated order. Output:
--out/{report.md,results.json,timeline.png}. Run through ../failover (installs tools, builds Tandem).
All traffic on 127.0.0.1; everything bounded in time; every process is killed at the end, also on
Ctrl-C.
"""
import argparse
import asyncio
import calendar
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, cpu_seconds, java, machine, tandem_cmd, tree, wait_port

BACKENDS = (25501, 25502)
VICTIM = BACKENDS[0]
FRONT = {"haproxy-tcpchk": 26501, "haproxy-httpchk": 26502, "nginx": 26503, "tandem-tcpchk": 26504,
         "tandem-httpchk": 26505}
TANDEM_ADMIN = 26590
PROXIES = tuple(FRONT)
SCENARIOS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}
CLIENTS, LOADGEN_PROCS, CLIENT_TIMEOUT = 64, 2, 2.0
STUCK_AGE = 1.0        # a request in flight this long at the end of the run counts as stuck
BUCKET = 0.1           # timeline resolution (s)
BEFORE_WINDOW = 3.0    # "before" = the last 3 s before the fault
SETTLE = 1.0           # "after" = from 1 s after the fault to the end of the run
REQUEST = b"GET / HTTP/1.1\r\nHost: failover\r\nConnection: close\r\n\r\n"
# Check timing shared by HAProxy and Tandem (the issue's `check inter 100 fall 2 rise 1`).
INTER_MS, FALL, RISE, CHECK_TIMEOUT_MS = 100, 2, 1, 100

WORK = None
mono = time.monotonic


class Proc:
    """A process in its own session; every output line is kept with the monotonic time it was read."""

    def __init__(self, name, cmd, ports=()):
        self.name = name
        self.lines = []
        self.log = open(WORK / f"{name}.log", "a")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            for port in ports:
                wait_port(port, timeout=60, proc=self.p)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"{name}: {e}; its output:\n" + "".join(l for _, l in self.lines[-30:])) from None

    def _read(self):
        for line in self.p.stdout:
            self.lines.append((mono(), line))
            self.log.write(line)

    def first_line_after(self, t0, *needles):
        for t, line in list(self.lines):
            if t >= t0 and all(n in line for n in needles):
                return t, line.strip()
        return None, None

    def signal(self, sig):
        os.kill(self.p.pid, sig)

    def stop(self):
        for sig in (signal.SIGCONT, signal.SIGTERM):  # a stopped process cannot handle SIGTERM
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(timeout=5)
        self.reader.join(timeout=2)
        self.log.close()


# ---------------------------------------------------------------- backends and proxies

def start_backend(port):
    conf = WORK / f"backend-{port}.conf"
    # One process (no master) so the pid we signal is the one that serves.
    conf.write_text(f"""
        daemon off; master_process off; worker_processes 1; pid {WORK}/backend-{port}.pid;
        error_log stderr warn; worker_rlimit_nofile 8192;
        events {{ worker_connections 4096; }}
        http {{ access_log off;
                server {{ listen 127.0.0.1:{port} backlog=511; location / {{ return 200 "hello from {port}\\n"; }} }} }}
    """)
    return Proc(f"backend-{port}", ["nginx", "-c", str(conf), "-p", str(WORK)], [port])


def haproxy_cfg(front, http_check):
    servers = "\n".join(f"    server s{i + 1} 127.0.0.1:{p} check inter {INTER_MS} fall {FALL} rise {RISE}"
                        for i, p in enumerate(BACKENDS))
    return f"""
global
    maxconn 8000
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check {CHECK_TIMEOUT_MS}ms
    retries 3
    option redispatch
listen http
    bind 127.0.0.1:{front}
    balance roundrobin
    {"option httpchk GET /" if http_check else ""}
{servers}
"""


def nginx_cfg(front):
    servers = " ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in BACKENDS)
    return f"""
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off; worker_processes {os.cpu_count()}; pid {WORK}/nginx-proxy.pid; error_log stderr warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 8000; }}
stream {{
    upstream http {{ {servers} }}
    server {{ listen 127.0.0.1:{front} backlog=4096; proxy_pass http; proxy_connect_timeout 1s;
              proxy_next_upstream_tries 4; }}
}}
"""


def tandem_cfg(front, http_check):
    check = (f"type: {'http' if http_check else 'tcp'}, interval: {INTER_MS}ms, timeout: {CHECK_TIMEOUT_MS}ms, "
             f"rise: {RISE}, fall: {FALL}, fast_interval: {INTER_MS}ms, down_interval: {INTER_MS}ms, jitter: 0")
    extra = """
    outlier_detection: {response_timeout: 200ms}
    close_on_backend_down: true""" if http_check else ""
    return f"""
runtime:
  drain_timeout: 0s
admin:
  listen: 127.0.0.1:{TANDEM_ADMIN}
vips:
  - name: http
    listen: 127.0.0.1:{front}
    retries: 3
    timeouts: {{connect: 1s}}
    backends: [{", ".join(f"127.0.0.1:{p}" for p in BACKENDS)}]
    health_check: {{{check}}}{extra}
"""


def proxy_config(name):
    front = FRONT[name]
    if name.startswith("haproxy"):
        return haproxy_cfg(front, http_check=name.endswith("httpchk"))
    if name == "nginx":
        return nginx_cfg(front)
    return tandem_cfg(front, http_check=name.endswith("httpchk"))


def start_proxy(name):
    front = FRONT[name]
    if name.startswith("haproxy"):
        cfg = WORK / f"{name}.cfg"
        cfg.write_text(proxy_config(name))
        return Proc(name, ["haproxy", "-db", "-f", str(cfg)], [front])
    if name == "nginx":
        cfg = WORK / "nginx-proxy.conf"
        cfg.write_text(proxy_config(name))
        return Proc(name, ["nginx", "-c", str(cfg), "-p", str(WORK)], [front])
    cfg = WORK / f"{name}.yaml"
    cfg.write_text(proxy_config(name))
    return Proc(name, tandem_cmd(JAVA, cfg), [front, TANDEM_ADMIN])


def eject_line(proxy, name, t_fault):
    """(time, line) of the proxy's first report after the fault that the victim is out."""
    if name.startswith("tandem"):
        hits = [proxy.first_line_after(t_fault, w, f"backend=127.0.0.1:{VICTIM}")
                for w in ("backend ejected", "backend down")]
    elif name.startswith("haproxy"):
        hits = [proxy.first_line_after(t_fault, "Server http/s1 is DOWN")]
    else:
        hits = [proxy.first_line_after(t_fault, "temporarily disabled", f"127.0.0.1:{VICTIM}")]
    hits = [h for h in hits if h[0] is not None]
    return min(hits) if hits else (None, None)


# ---------------------------------------------------------------- load generator

async def _client(port, stop_at, records, inflight, me):
    loop = asyncio.get_running_loop()
    while mono() < stop_at:
        t0 = mono()
        inflight[me] = t0
        outcome = "ok"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT):
                await loop.sock_connect(sock, ("127.0.0.1", port))
                await loop.sock_sendall(sock, REQUEST)
                data = b""
                while chunk := await loop.sock_recv(sock, 4096):
                    data += chunk
            if not data:
                outcome = "eof"
            elif not data.startswith(b"HTTP/1.1 200") or not data.endswith(b"\n"):
                outcome = "bad-response"
        except TimeoutError:
            outcome = "timeout"
        except ConnectionRefusedError:
            outcome = "refused"
        except ConnectionResetError:
            outcome = "reset"
        except OSError as e:
            outcome = f"oserror-{e.errno}"
        finally:
            sock.close()
        records.append((t0, mono(), outcome))
        del inflight[me]
        if outcome not in ("ok", "timeout"):
            await asyncio.sleep(0.001)  # a refused connect returns at once: don't spin


async def _load(port, clients, start_at, stop_at):
    records, inflight = [], {}
    await asyncio.sleep(max(0.0, start_at - mono()))
    tasks = [asyncio.create_task(_client(port, stop_at, records, inflight, i)) for i in range(clients)]
    await asyncio.sleep(max(0.0, stop_at - mono()))
    end = mono()
    hanging = [end - t0 for t0 in inflight.values()]
    await asyncio.sleep(0.05)  # let requests that were about to finish finish
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return records, hanging


def _loadgen_main(port, clients, start_at, stop_at, conn):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates us
    records, hanging = asyncio.run(_load(port, clients, start_at, stop_at))
    conn.send((records, hanging))
    conn.close()


def run_load(port, start_at, stop_at, on_tick):
    """Runs the load processes from start_at to stop_at (monotonic); on_tick runs in this thread meanwhile."""
    ctx = multiprocessing.get_context("fork")
    gens = []
    for i in range(LOADGEN_PROCS):
        parent, child = ctx.Pipe(duplex=False)
        share = CLIENTS // LOADGEN_PROCS + (1 if i < CLIENTS % LOADGEN_PROCS else 0)
        p = ctx.Process(target=_loadgen_main, args=(port, share, start_at, stop_at, child), daemon=True)
        p.start()
        gens.append((p, parent))
    LIVE.extend(p for p, _ in gens)
    try:
        on_tick()
        records, hanging = [], []
        for p, conn in gens:
            if not conn.poll(stop_at - mono() + 30):
                raise RuntimeError("load generator did not report within 30 s of the end of the run")
            r, h = conn.recv()
            records += r
            hanging += h
            p.join(timeout=10)
        return records, hanging
    finally:
        for p, _ in gens:
            if p.is_alive():
                p.terminate()
            LIVE.remove(p)


LIVE = []  # load generator processes, terminated on exit


# ---------------------------------------------------------------- one cell

def run_cell(name, scenario, args):
    procs = []
    try:
        backends = [start_backend(p) for p in BACKENDS]
        procs += backends
        proxy = start_proxy(name)
        procs.append(proxy)
        time.sleep(1.0)  # first checks pass, listeners settle
        start_at = mono() + 0.2
        t_fault_planned = start_at + args.warmup + args.fault_at
        stop_at = start_at + args.warmup + args.duration
        fault = {}
        pids = tree(proxy.p.pid)
        cpu0 = cpu_seconds(pids)

        def inject():
            time.sleep(max(0.0, t_fault_planned - mono()))
            fault["t"], fault["wall"] = mono(), time.time()
            backends[0].signal(SCENARIOS[scenario])

        records, hanging = run_load(FRONT[name], start_at, stop_at, inject)
        cpu = cpu_seconds(pids) - cpu0
        time.sleep(0.3)  # late log lines
        t_eject, line = eject_line(proxy, name, fault["t"])
        extra_lines = [l.strip() for t, l in proxy.lines if t >= fault["t"] and any(
            k in l for k in ("connections closed", "backend ejected", "backend down", "is DOWN", "no response",
                             "temporarily disabled", "vip panic"))][:8]
        r = analyse(records, hanging, fault["t"], stop_at, start_at + args.warmup, t_eject, line, extra_lines)
        ok = sum(1 for _, _, o in records if o == "ok")
        r["proxy_cpu_us_per_req"] = round(cpu * 1e6 / ok, 1) if ok else None
        r["eject_ms_own_clock"] = own_clock_ms(line, fault["wall"])
        return r
    finally:
        for p in reversed(procs):
            p.stop()


def own_clock_ms(line, fault_wall):
    """Tandem stamps its log lines (ms, UTC): fault → its own timestamp, free of pipe and reader delays."""
    if not line or not line.startswith("ts="):
        return None
    ts = line[3:].split()[0]
    t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + int(ts[20:23]) / 1000
    return round((t - fault_wall) * 1000, 1)


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def analyse(records, hanging, t_fault, stop_at, measure_from, t_eject, eject_text, lines):
    ok = [(s, e) for s, e, o in records if o == "ok"]
    errors_after, inflight_lost, errors_before, kinds = 0, 0, 0, {}
    for s, e, o in records:
        if o == "ok":
            continue
        if s >= t_fault:
            errors_after += 1
            kinds[o] = kinds.get(o, 0) + 1
        elif e >= t_fault:
            inflight_lost += 1
            kinds[o] = kinds.get(o, 0) + 1
        elif s >= measure_from:
            errors_before += 1
    before = [(s, e) for s, e in ok if t_fault - BEFORE_WINDOW <= e < t_fault]
    after = [(s, e) for s, e in ok if t_fault + SETTLE <= e < stop_at]
    after_span = stop_at - t_fault - SETTLE
    lo = measure_from - t_fault
    nb = int(round((stop_at - measure_from) / BUCKET))
    timeline = [0] * nb
    err_timeline = [0] * nb
    for s, e, o in records:
        i = int((e - measure_from) / BUCKET)
        if 0 <= i < nb:
            (timeline if o == "ok" else err_timeline)[i] += 1
    return {
        "errors_after_fault": errors_after,
        "inflight_lost_at_fault": inflight_lost,
        "errors_before_fault": errors_before,
        "error_kinds": kinds,
        "eject_ms": round((t_eject - t_fault) * 1000, 1) if t_eject is not None else None,
        "eject_line": eject_text,
        "proxy_lines": lines,
        "rps_before": len(before) / BEFORE_WINDOW,
        "rps_after": len(after) / after_span,
        "p99_before_ms": round(pct([e - s for s, e in before], 0.99) * 1000, 2) if before else None,
        "p99_after_ms": round(pct([e - s for s, e in after], 0.99) * 1000, 2) if after else None,
        "stuck_at_end": sum(1 for age in hanging if age >= STUCK_AGE),
        "requests": len(records),
        "timeline_start_s": round(lo, 3),
        "timeline_ok": timeline,
        "timeline_errors": err_timeline,
    }


# ---------------------------------------------------------------- report

def cell(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals),
            "missing": len(values) - len(vals)}


def fmt(c, digits=0, none="–"):
    if c is None:
        return none
    f = f"{{:.{digits}f}}"
    s = f.format(c["median"])
    if c["n"] > 1 and c["min"] != c["max"]:
        s += f" ({f.format(c['min'])}–{f.format(c['max'])})"
    if c.get("missing"):
        s += f", not seen in {c['missing']}"
    return s


COLUMNS = [("errors after fault", "errors_after_fault", 0), ("in-flight lost at fault", "inflight_lost_at_fault", 0),
           ("time to eject ms", "eject_ms", 0), ("req/s before", "rps_before", 0), ("req/s after", "rps_after", 0),
           ("p99 before ms", "p99_before_ms", 1), ("p99 after ms", "p99_after_ms", 1),
           ("stuck at end", "stuck_at_end", 0), ("proxy CPU µs/req", "proxy_cpu_us_per_req", 0)]
SCENARIO_TITLES = {"kill": "kill -9 of one backend", "stop": "SIGSTOP of one backend (hung, listening socket open)"}


def summarise(runs, proxies, scenarios):
    out = {}
    for sc in scenarios:
        out[sc] = {}
        for p in proxies:
            rs = [r for r in runs if r["scenario"] == sc and r["proxy"] == p and "error" not in r]
            if not rs:
                continue
            out[sc][p] = {k: cell([r[k] for r in rs]) for _, k, _ in COLUMNS}
            kinds = {}
            for r in rs:
                for k, v in r["error_kinds"].items():
                    kinds[k] = kinds.get(k, 0) + v
            out[sc][p]["error_kinds_total"] = kinds
            out[sc][p]["eject_ms_own_clock"] = cell([r.get("eject_ms_own_clock") for r in rs])
            out[sc][p]["runs"] = len(rs)
    return out


def render(s):
    m, a = s["machine"], s["args"]
    lines = [f"# Tandem failover run — {m['date']}", "",
             f"Machine: {m['cores']} cores ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}; {m['java']}; "
             f"{m['haproxy']}; {m['nginx']}. Load generator, proxy and backends share these cores.", "",
             f"Each cell: median (min–max) of {a['reps']} run(s). A run: {CLIENTS} clients, new connection per "
             f"request, {CLIENT_TIMEOUT:.0f} s client timeout, {a['warmup']} s warm-up + {a['duration']} s measured, "
             f"backend 1 of 2 faulted at t={a['fault_at']} s. *Errors after fault*: failed requests started after "
             f"the fault; *in-flight lost*: requests in flight at the fault instant that failed; *time to eject*: "
             f"fault → the proxy's own log line marking the backend out (nginx: `temporarily disabled`, passive, "
             f"per worker); *before* = last {BEFORE_WINDOW:.0f} s before the fault, *after* = from {SETTLE:.0f} s after "
             f"the fault to the end; p99 over successful requests; *stuck at end*: requests in flight ≥ "
             f"{STUCK_AGE:.0f} s when the load stopped.", ""]
    for sc, cells in s["summary"].items():
        lines += [f"## {SCENARIO_TITLES[sc]}", "", "| proxy | " + " | ".join(c for c, _, _ in COLUMNS) + " |",
                  "|---|" + "---|" * len(COLUMNS)]
        for p, c in cells.items():
            row = [fmt(c[k], d, "not seen" if k == "eject_ms" else "–") for _, k, d in COLUMNS]
            if p == "nginx" and c["eject_ms"] is None:
                row[2] = "n/a"
            lines.append(f"| {p} | " + " | ".join(row) + " |")
        own = {p: c["eject_ms_own_clock"] for p, c in cells.items() if c.get("eject_ms_own_clock")}
        if own:
            lines += ["", "Time to eject by Tandem's own log timestamps (no pipe/reader delay): " + "; ".join(
                f"{p} {fmt(c, 0)} ms" for p, c in own.items())]
        kinds = {p: c["error_kinds_total"] for p, c in cells.items() if c["error_kinds_total"]}
        if kinds:
            lines += ["", "Failed requests by kind (all runs): " + "; ".join(
                f"{p}: " + ", ".join(f"{k} {v}" for k, v in sorted(ks.items())) for p, ks in kinds.items())]
        lines.append("")
    lines += ["## Configurations", ""]
    for p in s["args"]["proxies"].split(","):
        lines += [f"### {p}", "", "```", proxy_config(p).strip(), "```", ""]
    return "\n".join(lines)


def plot(s, runs, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("failover: matplotlib missing, no plot", file=sys.stderr)
        return
    scenarios = list(s["summary"])
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(11, 3.6 * len(scenarios)), squeeze=False)
    colors = {"tandem-tcpchk": "#d62728", "tandem-httpchk": "#ff7f0e", "haproxy-tcpchk": "#1f77b4",
              "haproxy-httpchk": "#17becf", "nginx": "#2ca02c"}
    for ax, sc in zip(axes[:, 0], scenarios):
        for p in s["summary"][sc]:
            rs = [r for r in runs if r["scenario"] == sc and r["proxy"] == p and "error" not in r]
            n = min(len(r["timeline_ok"]) for r in rs)
            mean = [sum(r["timeline_ok"][i] for r in rs) / len(rs) / BUCKET for i in range(n)]
            x = [rs[0]["timeline_start_s"] + (i + 0.5) * BUCKET for i in range(n)]
            ax.plot(x, mean, label=p, color=colors.get(p), lw=1.1)
        ax.axvline(0, color="k", ls="--", lw=0.8)
        ax.set_xlim(-3, None)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{SCENARIO_TITLES[sc]}: successful requests/s per {int(BUCKET * 1000)} ms "
                     f"(mean of {s['args']['reps']} run(s)); fault at 0", fontsize=9)
        ax.set_xlabel("seconds from fault", fontsize=8)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "timeline.png", dpi=110)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=15, help="measured seconds per run")
    ap.add_argument("--fault-at", type=float, default=5, help="seconds into the measured run")
    ap.add_argument("--warmup", type=float, default=2, help="seconds of load before the measured run")
    ap.add_argument("--proxies", default=",".join(PROXIES))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--out", default=str(ROOT / "perf" / "results" / "failover-latest"))
    args = ap.parse_args()
    proxies, scenarios = args.proxies.split(","), args.scenarios.split(",")
    bad = [p for p in proxies if p not in FRONT] + [x for x in scenarios if x not in SCENARIOS]
    if bad:
        sys.exit(f"failover: unknown {bad} (expected proxies from {list(FRONT)}, scenarios from {list(SCENARIOS)})")
    if not (1 <= args.reps <= 10 and 4 <= args.duration <= 60 and 1 <= args.fault_at <= args.duration - 2
            and 0 <= args.warmup <= 10):
        sys.exit("failover: bounds are reps 1..10, duration 4..60 s, fault-at 1..duration-2 s, warmup 0..10 s")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    global WORK, JAVA
    WORK = Path(tempfile.mkdtemp(prefix="tandem-failover-"))
    JAVA = java() if any(p.startswith("tandem") for p in proxies) else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    try:
        for rep in range(args.reps):
            order = proxies[rep % len(proxies):] + proxies[:rep % len(proxies)]
            for sc in scenarios:
                for p in order:
                    t = time.time()
                    try:
                        r = run_cell(p, sc, args)
                    except RuntimeError as e:
                        r = {"error": str(e)}
                        print(f"failover: {p} {sc}: {e}", file=sys.stderr)
                    r.update(proxy=p, scenario=sc, rep=rep + 1)
                    runs.append(r)
                    if "error" not in r:
                        print(f"rep {rep + 1}/{args.reps} {sc:4s} {p:15s} errors_after={r['errors_after_fault']} "
                              f"inflight_lost={r['inflight_lost_at_fault']} eject_ms={r['eject_ms']} "
                              f"(own clock {r['eject_ms_own_clock']}) cpu_us/req={r['proxy_cpu_us_per_req']} "
                              f"rps {r['rps_before']:.0f}->{r['rps_after']:.0f} p99 {r['p99_before_ms']}->"
                              f"{r['p99_after_ms']} ms stuck={r['stuck_at_end']} ({time.time() - t:.0f} s)",
                              flush=True)
    except KeyboardInterrupt:
        print("failover: interrupted; writing what was measured", file=sys.stderr)
    finally:
        for p in list(LIVE):
            p.kill()
    summary = {"machine": machine(), "args": vars(args), "summary": summarise(runs, proxies, scenarios),
               "runs": runs}
    (out / "results.json").write_text(json.dumps(summary, indent=1))
    report = render(summary)
    (out / "report.md").write_text(report)
    if runs:
        plot(summary, runs, out)
    print(report)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
