#!/usr/bin/python3
"""Tandem zone-failover harness: the node's whole zone fails under load, Tandem beside HAProxy and nginx.

The backend-failover run (failover.py) faults one of two backends. This one faults a *zone*. Six
single-process nginx backends in three zones on loopback addresses (zone-a = the proxy's own zone:
127.0.24.10-11, zone-b: .20-21, zone-c: .30-31, all on port 25601; each answers with its name),
one proxy under test that prefers zone-a, and 64 clients opening a new connection per request. At
--fault-at seconds into the measured run the whole of zone-a fails at once; --outage seconds later
it comes back; the run goes on for --after seconds.

Scenarios:
  kill       `SIGKILL` of both zone-a backends (connects are refused: passive detection can see it);
             restored by starting them again (restore instant = both listening again).
  blackhole  one iptables rule `OUTPUT -d 127.0.24.10/31 -p tcp --dport 25601 -j DROP` (no RST, no
             FIN: SYNs and data vanish, so only a timeout or a health check can tell); restored by
             deleting the rule.

Proxies, with the closest thing each has to "prefer my zone, fail over to the others":
  tandem   `node.zone: zone-a`, `locality: {zone_aware: true}` (Envoy's zone-aware split; 3 zones ×
           2 backends = the default min_cluster_size 6), every backend labelled with its zone.
  haproxy  zone-a servers normal, the four others `backup` with `option allbackups` (HAProxy has no
           zone awareness; `backup` = "only when every normal server is down").
  nginx    stream upstream, zone-a normal, the others `backup`; passive only (OSS has no checks).
Envoy (which has zone-aware routing) is not packaged in Debian 12, so it is not in the run.

The harness records the fault and restore instants (monotonic and wall clock, taken just before the
kill / iptables call; the call's own duration is recorded too) and every request (start, end, outcome,
which zone answered). Output: --out/{report.md,results.json,timeline.png}. Run through
../zone-failover (installs tools, builds Tandem, removes leftover rules on exit). Everything on
127.0.0.0/8; every load loop bounded in time and count; every process killed and the rule deleted at
the end, also on Ctrl-C or SIGTERM.
"""
import argparse
import asyncio
import gzip
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
import time
from pathlib import Path

import failover as fo
from common import java, load_average, machine, ROOT, sweep_tagged_rules, tandem_cmd

PORT = 25601
ZONES = {"zone-a": ("127.0.24.10", "127.0.24.11"), "zone-b": ("127.0.24.20", "127.0.24.21"),
         "zone-c": ("127.0.24.30", "127.0.24.31")}
LOCAL = "zone-a"
BLACKHOLE_NET = "127.0.24.10/31"  # exactly zone-a's two addresses: one rule, one instant
NAMES = {addr: f"{zone[-1]}{i + 1}" for zone, addrs in ZONES.items() for i, addr in enumerate(addrs)}
FRONT = {"tandem": 26601, "haproxy": 26602, "nginx": 26603}
TANDEM_ADMIN = 26690
PROXIES = tuple(FRONT)
SCENARIOS = ("kill", "blackhole")
SCENARIO_TITLES = {"kill": "zone-a killed (kill -9 of both local backends)",
                   "blackhole": "zone-a blackholed (iptables DROP: no RST, only checks or timeouts tell)"}
CLIENTS, LOADGEN_PROCS, CLIENT_TIMEOUT = 64, 2, 2.0
MAX_REQUESTS_PER_CLIENT = 50_000  # count bound on top of the time bound
CONNECT_TIMEOUT_MS = 250          # proxy → backend connect timeout, the same for all three proxies
INTER_MS, FALL, RISE, CHECK_TIMEOUT_MS = 100, 2, 1, 100  # failover.py's check timing
NGINX_FAIL_TIMEOUT_S = 5
BUCKET = 0.1
WINDOW = 3.0   # "before" = last 3 s before the fault; "after" = last 3 s of the run
SETTLE = 1.0   # "during" = from 1 s after the fault to the restore
RULE_TAG = "tandem-zone-failover-perf"
REQUEST = b"GET / HTTP/1.1\r\nHost: zone\r\nConnection: close\r\n\r\n"

mono = time.monotonic
WORK = None
JAVA = None


# ---------------------------------------------------------------- the blackhole rule

def rule_args():
    return ["OUTPUT", "-d", BLACKHOLE_NET, "-p", "tcp", "--dport", str(PORT), "-m", "comment", "--comment",
            RULE_TAG, "-j", "DROP"]


def sweep_rules():
    """Deletes every rule this harness tagged (a crashed earlier run may have left one behind)."""
    sweep_tagged_rules(RULE_TAG)


def iptables(op):
    subprocess.run(["iptables", "-w", op, *rule_args()], check=True, capture_output=True, timeout=10)


# ---------------------------------------------------------------- backends and proxies

def wait_host_port(host, port, timeout=30.0, proc=None):
    deadline = mono() + timeout
    while mono() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before {host}:{port} opened")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{host}:{port} did not open within {timeout}s")


def start_backend(addr):
    name = NAMES[addr]
    conf = WORK / f"backend-{name}.conf"
    conf.write_text(f"""
        daemon off; master_process off; worker_processes 1; pid {WORK}/backend-{name}.pid;
        error_log stderr warn; worker_rlimit_nofile 8192;
        events {{ worker_connections 4096; }}
        http {{ access_log off;
                server {{ listen {addr}:{PORT} backlog=511; location / {{ return 200 "{name}\\n"; }} }} }}
    """)
    p = fo.Proc(f"backend-{name}", ["nginx", "-c", str(conf), "-p", str(WORK)])
    try:
        wait_host_port(addr, PORT, proc=p.p)
    except RuntimeError:
        p.stop()
        raise
    return p


def refusing_after(t0, limit=5.0):
    """ms from t0 until both zone-a addresses refuse connections: a killed process's listener lives on
    until the kernel has torn the process down, and handshakes into its backlog are not refused."""
    pending = set(ZONES[LOCAL])
    while pending and mono() - t0 < limit:
        for addr in list(pending):
            s = socket.socket()
            s.settimeout(0.02)
            try:
                s.connect((addr, PORT))
            except ConnectionRefusedError:
                pending.discard(addr)
            except OSError:
                pass  # timed out: a full backlog of a dying listener drops the SYN
            finally:
                s.close()
        time.sleep(0.002)
    return None if pending else round((mono() - t0) * 1000, 1)


def servers():
    return [(zone, addr) for zone, addrs in ZONES.items() for addr in addrs]


def haproxy_cfg():
    lines = [f"    server {NAMES[a]} {a}:{PORT} check inter {INTER_MS} fall {FALL} rise {RISE}"
             + ("" if z == LOCAL else " backup") for z, a in servers()]
    return f"""
global
    maxconn 8000
defaults
    mode tcp
    timeout connect {CONNECT_TIMEOUT_MS}ms
    timeout client 30s
    timeout server 30s
    timeout check {CHECK_TIMEOUT_MS}ms
    retries 3
    option redispatch
listen zoned
    bind 127.0.0.1:{FRONT['haproxy']}
    balance roundrobin
    option allbackups
""" + "\n".join(lines) + "\n"


def nginx_cfg():
    lines = " ".join(f"server {a}:{PORT} max_fails=1 fail_timeout={NGINX_FAIL_TIMEOUT_S}s"
                     + ("" if z == LOCAL else " backup") + ";" for z, a in servers())
    return f"""
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off; worker_processes {os.cpu_count()}; pid {WORK}/nginx-proxy.pid; error_log stderr warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 8000; }}
stream {{
    upstream zoned {{ {lines} }}
    server {{ listen 127.0.0.1:{FRONT['nginx']} backlog=4096; proxy_pass zoned;
              proxy_connect_timeout {CONNECT_TIMEOUT_MS}ms; proxy_next_upstream_tries 4; }}
}}
"""


def tandem_cfg():
    check = (f"type: tcp, interval: {INTER_MS}ms, timeout: {CHECK_TIMEOUT_MS}ms, rise: {RISE}, fall: {FALL}, "
             f"fast_interval: {INTER_MS}ms, down_interval: {INTER_MS}ms, jitter: 0")
    backends = "\n".join(f"      - {{address: {a}:{PORT}, region: perf, zone: {z}}}" for z, a in servers())
    return f"""
runtime:
  drain_timeout: 0s
admin:
  listen: 127.0.0.1:{TANDEM_ADMIN}
node:
  region: perf
  zone: {LOCAL}
vips:
  - name: zoned
    listen: 127.0.0.1:{FRONT['tandem']}
    retries: 3
    timeouts: {{connect: {CONNECT_TIMEOUT_MS}ms}}
    locality: {{zone_aware: true}}
    health_check: {{{check}}}
    backends:
{backends}
"""


def proxy_config(name):
    return {"tandem": tandem_cfg, "haproxy": haproxy_cfg, "nginx": nginx_cfg}[name]()


def start_proxy(name):
    front = FRONT[name]
    if name == "haproxy":
        cfg = WORK / "haproxy.cfg"
        cfg.write_text(proxy_config(name))
        return fo.Proc(name, ["haproxy", "-db", "-f", str(cfg)], [front])
    if name == "nginx":
        cfg = WORK / "nginx-proxy.conf"
        cfg.write_text(proxy_config(name))
        return fo.Proc(name, ["nginx", "-c", str(cfg), "-p", str(WORK)], [front])
    cfg = WORK / "tandem.yaml"
    cfg.write_text(proxy_config(name))
    return fo.Proc(name, tandem_cmd(JAVA, cfg), [front, TANDEM_ADMIN])


def zone_down_line(proxy, name, t_fault):
    """(time, line) of the proxy's own report that the *last* zone-a backend is out, or (None, None)."""
    found = []
    for addr in ZONES[LOCAL]:
        if name == "tandem":
            hits = [proxy.first_line_after(t_fault, w, f"backend={addr}:{PORT}")
                    for w in ("backend ejected", "backend down")]
        elif name == "haproxy":
            hits = [proxy.first_line_after(t_fault, f"Server zoned/{NAMES[addr]} is DOWN")]
        else:
            hits = [proxy.first_line_after(t_fault, "temporarily disabled", f"{addr}:{PORT}")]
        hits = [h for h in hits if h[0] is not None]
        if not hits:
            return None, None
        found.append(min(hits))
    return max(found)


# ---------------------------------------------------------------- load generator (records the zone)

def zone_of(name):
    return {"a": "zone-a", "b": "zone-b", "c": "zone-c"}.get(name[:1])


async def _client(port, stop_at, records, inflight, me):
    loop = asyncio.get_running_loop()
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if mono() >= stop_at:
            break
        t0 = mono()
        inflight[me] = t0
        outcome, zone = "ok", None
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
            else:
                zone = zone_of(data.rsplit(b"\r\n\r\n", 1)[-1].decode("ascii", "replace").strip())
                if zone is None:
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
        records.append((t0, mono(), outcome, zone))
        del inflight[me]
        if outcome not in ("ok", "timeout"):
            await asyncio.sleep(0.001)  # a refused connect returns at once: don't spin


async def _load(port, clients, start_at, stop_at):
    records, inflight = [], {}
    await asyncio.sleep(max(0.0, start_at - mono()))
    tasks = [asyncio.create_task(_client(port, stop_at, records, inflight, i)) for i in range(clients)]
    await asyncio.sleep(max(0.0, stop_at - mono()))
    await asyncio.sleep(0.05)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return records


def _loadgen_main(port, clients, start_at, stop_at, conn):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    conn.send(asyncio.run(_load(port, clients, start_at, stop_at)))
    conn.close()


def run_load(port, start_at, stop_at, on_tick):
    ctx = multiprocessing.get_context("fork")
    gens = []
    for i in range(LOADGEN_PROCS):
        parent, child = ctx.Pipe(duplex=False)
        share = CLIENTS // LOADGEN_PROCS + (1 if i < CLIENTS % LOADGEN_PROCS else 0)
        p = ctx.Process(target=_loadgen_main, args=(port, share, start_at, stop_at, child), daemon=True)
        p.start()
        gens.append((p, parent))
    fo.LIVE.extend(p for p, _ in gens)
    try:
        on_tick()
        records = []
        for p, conn in gens:
            if not conn.poll(stop_at - mono() + 30):
                raise RuntimeError("load generator did not report within 30 s of the end of the run")
            records += conn.recv()
            p.join(timeout=10)
        return records
    finally:
        for p, _ in gens:
            if p.is_alive():
                p.terminate()
            fo.LIVE.remove(p)


# ---------------------------------------------------------------- one cell

def run_cell(name, scenario, args):
    procs = {}
    rule_in = False
    proxy = None
    try:
        for _, addr in servers():
            procs[addr] = start_backend(addr)
        proxy = start_proxy(name)
        time.sleep(1.0)  # first checks pass, listeners settle
        start_at = mono() + 0.2
        measure_from = start_at + args.warmup
        t_fault_planned = measure_from + args.fault_at
        t_restore_planned = t_fault_planned + args.outage
        stop_at = t_restore_planned + args.after
        ev = {}

        def inject():
            nonlocal rule_in
            time.sleep(max(0.0, t_fault_planned - mono()))
            t_call = mono()
            if scenario == "kill":
                for addr in ZONES[LOCAL]:
                    procs[addr].signal(signal.SIGKILL)
            else:
                rule_in = True
                iptables("-I")
            # The fault instant is the end of the call: the rule is certainly in effect then (iptables
            # commits the table at the end); a request started during the call counts as in flight.
            ev["fault"], ev["fault_wall"] = mono(), time.time()
            ev["fault_call_ms"] = round((ev["fault"] - t_call) * 1000, 1)
            if scenario == "kill":
                ev["refusing_ms"] = refusing_after(ev["fault"])
            time.sleep(max(0.0, t_restore_planned - mono()))
            ev["restore_begin"] = mono()
            if scenario == "kill":
                for addr in ZONES[LOCAL]:
                    procs[addr].stop()  # reaps the killed process, closes its log
                for addr in ZONES[LOCAL]:
                    procs[addr] = start_backend(addr)
                ev["restore"] = mono()  # both listening again
            else:
                iptables("-D")
                rule_in = False
                ev["restore"] = mono()  # the rule is gone
            ev["restore_call_ms"] = round((mono() - ev["restore_begin"]) * 1000, 1)

        records = run_load(FRONT[name], start_at, stop_at, inject)
        time.sleep(0.3)  # late log lines
        t_down, line = zone_down_line(proxy, name, ev["fault"])
        r = analyse(records, ev["fault"], ev["restore"], measure_from, stop_at, ev["restore_begin"])
        r["zone_down_ms"] = round((t_down - ev["fault"]) * 1000, 1) if t_down is not None else None
        r["zone_down_line"] = line
        r["zone_down_ms_own_clock"] = fo.own_clock_ms(line, ev["fault_wall"]) if name == "tandem" else None
        if name == "tandem":
            _, zero = proxy.first_line_after(ev["fault"], "vip locality", "local_share=0.00%")
            r["local_share_zero_ms_own_clock"] = fo.own_clock_ms(zero, ev["fault_wall"])
        r["fault_wall"] = ev["fault_wall"]
        if args.raw:
            # Every request, times in ms from the fault: for a re-analysis without another run.
            raw = {"fault": 0.0, "restore_begin": round((ev["restore_begin"] - ev["fault"]) * 1000, 2),
                   "restore": round((ev["restore"] - ev["fault"]) * 1000, 2),
                   "measure_from": round((measure_from - ev["fault"]) * 1000, 2),
                   "stop_at": round((stop_at - ev["fault"]) * 1000, 2),
                   "records": [(round((s0 - ev["fault"]) * 1000, 2), round((e0 - ev["fault"]) * 1000, 2), o, z)
                               for s0, e0, o, z in records]}
            Path(args.raw).mkdir(parents=True, exist_ok=True)
            with gzip.open(Path(args.raw) / f"{name}-{scenario}-{int(ev['fault_wall'])}.json.gz", "wt") as f:
                json.dump(raw, f)
        r["fault_call_ms"] = ev["fault_call_ms"]
        r["zone_refusing_ms"] = ev.get("refusing_ms")
        r["restore_call_ms"] = ev["restore_call_ms"]
        r["proxy_lines"] = [l.strip() for t, l in proxy.lines if t >= ev["fault"]][:12]
        return r
    finally:
        if rule_in:
            iptables("-D")
        if proxy is not None:
            proxy.stop()
        for p in procs.values():
            p.stop()


def analyse(records, t_fault, t_restore, measure_from, stop_at, t_outage_end=None):
    """t_outage_end: when the restore began (nothing comes back before it: the outage measures end there);
    t_restore: when it is in effect (the *after restore* measures start there)."""
    t_end = t_restore if t_outage_end is None else t_outage_end
    ok = [(s, e, z) for s, e, o, z in records if o == "ok"]
    failed = [(s, e, o) for s, e, o, z in records if o != "ok"]

    def share(lo, hi):
        rs = [z for s, e, z in ok if lo <= e < hi]
        return (round(sum(1 for z in rs if z == LOCAL) / len(rs), 4) if rs else None), len(rs)

    def ms(t, base):
        return round((t - base) * 1000, 1) if t is not None else None

    before, n_before = share(t_fault - WINDOW, t_fault)
    during, n_during = share(t_fault + SETTLE, t_end)
    after, n_after = share(stop_at - WINDOW, stop_at)
    remote_after_fault = [e for s, e, z in ok if z != LOCAL and e >= t_fault and s < t_end]
    first_remote = min(remote_after_fault) if remote_after_fault else None
    # Fully spilled: from then on every request started in the outage succeeds in a remote zone (the end
    # of the last one that did not, and not before the first remote success).
    not_spilled = [e for s, e, o, z in records if t_fault <= s and e < t_end and not (o == "ok" and z != LOCAL)]
    spilled = max(not_spilled + ([first_remote] if first_remote is not None else [])) if first_remote else None
    # Error-free: the end of the last failed request started in the outage (in-flight losses apart).
    errs_outage = [e for s, e, o in failed if t_fault <= s < t_end]
    kinds = {}
    for s, e, o in failed:
        if e >= t_fault:
            kinds[o] = kinds.get(o, 0) + 1
    back_local = [e for s, e, z in ok if z == LOCAL and s >= t_restore]
    back_remote = [e for s, e, z in ok if z != LOCAL and s >= t_restore]
    nb = int(round((stop_at - measure_from) / BUCKET))
    tl = {"local": [0] * nb, "remote": [0] * nb, "errors": [0] * nb}
    for s, e, o, z in records:
        i = int((e - measure_from) / BUCKET)
        if 0 <= i < nb:
            tl["errors" if o != "ok" else "local" if z == LOCAL else "remote"][i] += 1
    return {
        "local_share_before": before, "local_share_during": during, "local_share_after": after,
        "ok_before": n_before, "ok_during": n_during, "ok_after": n_after,
        "first_remote_ms": ms(first_remote, t_fault),
        "spilled_ms": ms(spilled, t_fault),
        "error_free_ms": ms(max(errs_outage), t_fault) if errs_outage else 0.0,
        "failed_in_outage": sum(1 for s, e, o in failed if t_fault <= s < t_end),
        "inflight_lost_at_fault": sum(1 for s, e, o in failed if s < t_fault <= e),
        "failed_after_restore": sum(1 for s, e, o in failed if s >= t_end),
        "failed_before_fault": sum(1 for s, e, o in failed if measure_from <= s and e < t_fault),
        "error_kinds": kinds,
        "back_first_ms": ms(min(back_local), t_restore) if back_local else None,
        "back_all_ms": ms(max(back_remote), t_restore) if back_remote else 0.0,
        "rps_before": round(n_before / WINDOW),
        "rps_during": round(n_during / (t_end - t_fault - SETTLE)),
        "requests": len(records),
        "restore_s": round(t_restore - t_fault, 3),
        "timeline_start_s": round(measure_from - t_fault, 3),
        "timeline": tl,
    }


# ---------------------------------------------------------------- report

COLUMNS = [("local share before", "local_share_before", 3),
           ("first remote success ms", "first_remote_ms", 0),
           ("fully spilled ms", "spilled_ms", 0),
           ("error-free after ms", "error_free_ms", 0),
           ("failed in outage", "failed_in_outage", 0),
           ("in-flight lost at fault", "inflight_lost_at_fault", 0),
           ("zone marked down ms", "zone_down_ms", 0),
           ("local share during", "local_share_during", 3),
           ("first local after restore ms", "back_first_ms", 0),
           ("last remote after restore ms", "back_all_ms", 0),
           ("failed after restore", "failed_after_restore", 0),
           ("local share after", "local_share_after", 3),
           ("req/s before", "rps_before", 0), ("req/s during", "rps_during", 0)]
RATIOS = [("first remote success", "first_remote_ms"), ("fully spilled", "spilled_ms"),
          ("error-free after", "error_free_ms"), ("failed in outage", "failed_in_outage"),
          ("in-flight lost", "inflight_lost_at_fault"), ("last remote after restore", "back_all_ms")]


def summarise(runs, proxies, scenarios):
    out = {}
    for sc in scenarios:
        out[sc] = {}
        for p in proxies:
            rs = [r for r in runs if r["scenario"] == sc and r["proxy"] == p and "error" not in r]
            if not rs:
                continue
            out[sc][p] = {k: fo.cell([r[k] for r in rs]) for _, k, _ in COLUMNS}
            kinds = {}
            for r in rs:
                for k, v in r["error_kinds"].items():
                    kinds[k] = kinds.get(k, 0) + v
            out[sc][p]["error_kinds_total"] = kinds
            for k in ("zone_down_ms_own_clock", "local_share_zero_ms_own_clock", "fault_call_ms",
                      "zone_refusing_ms"):
                out[sc][p][k] = fo.cell([r.get(k) for r in rs])
            out[sc][p]["runs"] = len(rs)
        t = out[sc].get("tandem")
        ratios = {}
        for peer in (p for p in out[sc] if p != "tandem"):
            ratios[peer] = {k: ratio(t and t[k], out[sc][peer][k]) for _, k in RATIOS}
        out[sc]["ratios_tandem_over_peer"] = ratios
    return out


def ratio(a, b):
    """Tandem median ÷ peer median (< 1 = Tandem lower = better for every ratio column); None if undefined."""
    if not a or not b or b["median"] == 0:
        return None
    return round(a["median"] / b["median"], 2)


def fmt_ratio(x, a, b):
    """The ratio with both medians beside it, so a 0 on either side reads plainly."""
    if not a or not b:
        return "–"
    both = f"{a['median']:.0f} / {b['median']:.0f}"
    if x is not None:
        return f"{x:.2f}× ({both})"
    return "both 0" if a["median"] == 0 and b["median"] == 0 else f"– ({both})"


def render(s):
    m, a = s["machine"], s["args"]
    lines = [f"# Tandem zone-failover run — {m['date']}", "",
             f"Machine: {m['cores']} cores ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}; {m['java']}; "
             f"{m['haproxy']}; {m['nginx']}. Load generator, proxy and 6 backends share these cores. "
             f"Load average before: {s['uptime_before']}; after: {s.get('uptime_after', '?')}.", "",
             f"Each cell: median (min–max) of {a['reps']} run(s). A run: 6 nginx backends in 3 zones "
             f"(zone-a = the proxy's zone, 2 backends; zone-b, zone-c 2 each), {CLIENTS} clients, a new connection "
             f"per request, {CLIENT_TIMEOUT:.0f} s client timeout, {a['warmup']} s warm-up, then zone-a faulted "
             f"at t={a['fault_at']} s of the measured run, restored {a['outage']} s later, {a['after']} s more. "
             f"Proxy → backend connect timeout {CONNECT_TIMEOUT_MS} ms everywhere; Tandem and HAProxy check every "
             f"{INTER_MS} ms, timeout {CHECK_TIMEOUT_MS} ms, fall {FALL}, rise {RISE}; nginx passive "
             f"(`max_fails=1 fail_timeout={NGINX_FAIL_TIMEOUT_S}s`). Envoy: not packaged for this Debian "
             f"(`apt-cache policy envoy` empty), not run.", "",
             "Columns (times from the fault, or from the restore for the *after restore* ones): *local share* = "
             f"share of successful requests answered by zone-a (*before*: last {WINDOW:.0f} s before the fault; "
             f"*during*: from {SETTLE:.0f} s after the fault to the restore; *after*: last {WINDOW:.0f} s of the "
             "run); *first remote success* = end of the first successful request answered by zone-b/c; "
             "*fully spilled* = from then on every request started in the outage succeeded in zone-b/c (the end "
             "of the last one started after the fault that failed or was answered by zone-a, and not before the "
             "first remote success); *error-free after* = end of the last failed request started after the fault "
             "(0 = none failed); *failed in outage* = failed requests started between fault and restore; "
             "*in-flight lost* = requests in flight at the fault that failed (at layer 4 every proxy loses "
             "requests already on a backend that dies; a blackholed one hangs until the 2 s client timeout); "
             "*zone marked down* = the proxy's own log line for the second zone-a backend (Tandem `backend "
             "down`/`backend ejected`, HAProxy `is DOWN`, nginx `temporarily disabled`, per worker), as read by "
             "the harness; *first local after restore* = end of the first request started after the restore "
             "and answered by zone-a; *last remote after restore* = end of the last request started after the "
             "restore and answered by zone-b/c (0 = none). Instants: the fault is the end of the `kill` / "
             "`iptables -I` call (the rule is certainly in effect; a request started during the call counts as "
             "in flight), the restore is both zone-a backends listening again (kill) or the end of `iptables -D` "
             "(blackhole).", ""]
    for sc in a["scenarios"].split(","):
        cells = s["summary"].get(sc, {})
        if not any(p in cells for p in PROXIES):
            continue
        lines += [f"## {SCENARIO_TITLES[sc]}", "", "| proxy | " + " | ".join(c for c, _, _ in COLUMNS) + " |",
                  "|---|" + "---|" * len(COLUMNS)]
        for p in PROXIES:
            if p in cells:
                c = cells[p]
                row = [fmt_cell(c[k], d, "not seen" if k in ("zone_down_ms", "back_first_ms",
                                                             "first_remote_ms", "spilled_ms") else "–") for _, k, d in COLUMNS]
                lines.append(f"| {p} | " + " | ".join(row) + " |")
        rat = cells.get("ratios_tandem_over_peer", {})
        if rat:
            lines += ["", "Tandem ÷ peer (medians, Tandem / peer in brackets; < 1 = Tandem lower, i.e. faster or fewer failures):", "",
                      "| peer | " + " | ".join(n for n, _ in RATIOS) + " |", "|---|" + "---|" * len(RATIOS)]
            for peer, rs in rat.items():
                lines.append(f"| {peer} | " + " | ".join(
                    fmt_ratio(rs[k], cells.get("tandem", {}).get(k), cells[peer][k]) for _, k in RATIOS) + " |")
        t = cells.get("tandem")
        if t and (t.get("zone_down_ms_own_clock") or t.get("local_share_zero_ms_own_clock")):
            lines += ["", "Tandem by its own log timestamps (no pipe/reader delay), from the fault: second zone-a "
                      f"backend out {fo.fmt(t.get('zone_down_ms_own_clock'), 0)} ms; split republished with "
                      f"`local_share=0.00%` {fo.fmt(t.get('local_share_zero_ms_own_clock'), 0)} ms."]
        refusing = {p: cells[p].get("zone_refusing_ms") for p in PROXIES if p in cells and cells[p].get("zone_refusing_ms")}
        if refusing:
            lines += ["", "Killed zone-a refusing connections (both addresses; the harness's own probes, every ~2 ms "
                      "with a 20 ms connect timeout), ms after the fault — until then the dying listeners complete "
                      "handshakes or drop SYNs: " + "; ".join(f"{p} {fo.fmt(c, 0)}" for p, c in refusing.items())]
        fc = {p: cells[p].get("fault_call_ms") for p in PROXIES if p in cells and cells[p].get("fault_call_ms")}
        if fc and sc == "blackhole":
            lines += ["", "Duration of the `iptables -I` call (the fault instant is its end): " + "; ".join(
                f"{p} {fo.fmt(c, 0)} ms" for p, c in fc.items())]
        kinds = {p: cells[p]["error_kinds_total"] for p in PROXIES if p in cells and cells[p]["error_kinds_total"]}
        if kinds:
            lines += ["", "Failed requests after the fault by kind (all runs): " + "; ".join(
                f"{p}: " + ", ".join(f"{k} {v}" for k, v in sorted(ks.items())) for p, ks in kinds.items())]
        lines.append("")
    lines += ["## Configurations", ""]
    for p in a["proxies"].split(","):
        lines += [f"### {p}", "", "```", proxy_config(p).strip(), "```", ""]
    return "\n".join(lines)


def fmt_cell(c, digits, none):
    if c is None:
        return none
    return fo.fmt(c, digits, none)


def plot(s, runs, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("zone-failover: matplotlib missing, no plot", file=sys.stderr)
        return
    scenarios = [sc for sc in s["args"]["scenarios"].split(",") if s["summary"].get(sc)]
    if not scenarios:
        return
    fig, axes = plt.subplots(3, len(scenarios), figsize=(7.5 * len(scenarios), 10), squeeze=False)
    colors = {"tandem": "#d62728", "haproxy": "#1f77b4", "nginx": "#2ca02c"}
    for col, sc in enumerate(scenarios):
        top, mid, bottom = axes[0, col], axes[1, col], axes[2, col]
        restore, peak = None, 1.0
        for p in PROXIES:
            rs = [r for r in runs if r["scenario"] == sc and r["proxy"] == p and "error" not in r]
            if not rs:
                continue
            restore = statistics.median(r["restore_s"] for r in rs)
            n = min(len(r["timeline"]["local"]) for r in rs)
            x = [rs[0]["timeline_start_s"] + (i + 0.5) * BUCKET for i in range(n)]
            share, local, remote, errs = [], [], [], []
            for i in range(n):
                loc = sum(r["timeline"]["local"][i] for r in rs)
                rem = sum(r["timeline"]["remote"][i] for r in rs)
                share.append(100.0 * loc / (loc + rem) if loc + rem else float("nan"))
                local.append(loc / len(rs) / BUCKET)
                remote.append(rem / len(rs) / BUCKET)
                errs.append(sum(r["timeline"]["errors"][i] for r in rs) / len(rs) / BUCKET)
            peak = max([peak] + [v for xi, v in zip(x, local + remote) if -0.5 <= xi <= 1.5]
                       + [v for xi, v in zip(x, remote) if -0.5 <= xi <= 1.5])
            top.plot(x, share, label=p, color=colors[p], lw=1.1)
            mid.plot(x, remote, label=f"{p} zone-b/c", color=colors[p], lw=1.3)
            mid.plot(x, local, label=f"{p} zone-a", color=colors[p], lw=0.9, ls="--")
            bottom.plot(x, errs, label=p, color=colors[p], lw=1.1)
        for ax in (top, mid, bottom):
            ax.axvline(0, color="k", ls="--", lw=0.8)
            if restore is not None:
                ax.axvline(restore, color="k", ls=":", lw=0.8)
            ax.set_xlabel("seconds from the fault (dashed); dotted = restore", fontsize=8)
            ax.legend(fontsize=6, loc="center right")
        top.set_ylim(-3, 103)
        top.set_title(f"{SCENARIO_TITLES[sc]}\nlocal (zone-a) share of successful requests per "
                      f"{int(BUCKET * 1000)} ms, %, pooled over {s['args']['reps']} run(s)", fontsize=8)
        mid.set_xlim(-0.5, 1.5)
        mid.set_ylim(0, peak * 1.1)
        mid.set_title(f"around the fault: successful requests/s per {int(BUCKET * 1000)} ms by the zone that "
                      "answered (mean of runs; a gap = clients waiting)", fontsize=8)
        bottom.set_ylim(bottom=0)
        bottom.set_title(f"failed requests/s per {int(BUCKET * 1000)} ms (by end time, mean of runs)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "timeline.png", dpi=110)


# ---------------------------------------------------------------- main

uptime = load_average


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=2, help="seconds of load before the measured run")
    ap.add_argument("--fault-at", type=float, default=4, help="seconds into the measured run")
    ap.add_argument("--outage", type=float, default=6, help="seconds from fault to restore")
    ap.add_argument("--after", type=float, default=8, help="seconds of load after the restore")
    ap.add_argument("--proxies", default=",".join(PROXIES))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--raw", help="also write every request of every run here (gzipped JSON, not committed)")
    ap.add_argument("--out", default=str(ROOT / "perf" / "results" / "zone-failover-latest"))
    args = ap.parse_args()
    proxies, scenarios = args.proxies.split(","), args.scenarios.split(",")
    bad = [p for p in proxies if p not in FRONT] + [x for x in scenarios if x not in SCENARIOS]
    if bad:
        sys.exit(f"zone-failover: unknown {bad} (expected proxies from {list(FRONT)}, scenarios from "
                 f"{list(SCENARIOS)})")
    if not (1 <= args.reps <= 10 and 0 <= args.warmup <= 10 and 3 <= args.fault_at <= 20
            and 2 <= args.outage <= 30 and 3 <= args.after <= 30):
        sys.exit("zone-failover: bounds are reps 1..10, warmup 0..10 s, fault-at 3..20 s, outage 2..30 s, "
                 "after 3..30 s")
    if "blackhole" in scenarios:
        if os.geteuid() != 0 or shutil.which("iptables") is None:
            sys.exit("zone-failover: the blackhole scenario needs root and iptables (or pass --scenarios kill)")
        sweep_rules()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    global WORK, JAVA
    WORK = Path(tempfile.mkdtemp(prefix="tandem-zone-failover-"))
    fo.WORK = WORK
    JAVA = java() if "tandem" in proxies else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    up0 = " ".join(uptime())
    print(f"zone-failover: load average before {up0}", flush=True)
    try:
        for rep in range(args.reps):
            order = proxies[rep % len(proxies):] + proxies[:rep % len(proxies)]
            for sc in scenarios:
                for p in order:
                    t = time.time()
                    try:
                        r = run_cell(p, sc, args)
                    except (RuntimeError, subprocess.CalledProcessError) as e:
                        r = {"error": str(e)}
                        print(f"zone-failover: {p} {sc}: {e}", file=sys.stderr)
                    r.update(proxy=p, scenario=sc, rep=rep + 1, load_average=uptime())
                    runs.append(r)
                    if "error" not in r:
                        print(f"rep {rep + 1}/{args.reps} {sc:9s} {p:8s} share {r['local_share_before']}->"
                              f"{r['local_share_during']}->{r['local_share_after']} first_remote={r['first_remote_ms']} "
                              f"spilled={r['spilled_ms']} error_free={r['error_free_ms']} "
                              f"failed={r['failed_in_outage']}+{r['inflight_lost_at_fault']} in flight "
                              f"down={r['zone_down_ms']} back={r['back_first_ms']}/{r['back_all_ms']} "
                              f"failed_after_restore={r['failed_after_restore']} kinds={r['error_kinds']} "
                              f"refusing={r.get('zone_refusing_ms')} own_clock_down={r.get('zone_down_ms_own_clock')} "
                              f"load={' '.join(r['load_average'])} ({time.time() - t:.0f} s)", flush=True)
    except KeyboardInterrupt:
        print("zone-failover: interrupted; writing what was measured", file=sys.stderr)
    finally:
        for p in list(fo.LIVE):
            p.kill()
        if "blackhole" in scenarios:
            sweep_rules()
    summary = {"machine": machine(), "args": vars(args), "uptime_before": up0, "uptime_after": " ".join(uptime()),
               "summary": summarise(runs, proxies, scenarios), "runs": runs}
    (out / "results.json").write_text(json.dumps(summary, indent=1))
    report = render(summary)
    (out / "report.md").write_text(report)
    if runs:
        plot(summary, runs, out)
    print(report)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
