#!/usr/bin/python3
"""HA pair takeover harness (issue #6): how long clients of a VIP see nothing when the node that owns
it fails, Tandem's pair beside keepalived + HAProxy, in the same namespaces, same backend, same client.

Topology (network namespaces `ttko-*`, one bridge, addresses from 198.18.0.0/15, no default route,
nothing in the host's own namespace): `client` 198.18.0.2, `lb1` 198.18.0.11, `lb2` 198.18.0.12,
`be` 198.18.0.20 (one single-process nginx, HTTP 200 on :8080), `zk` 198.18.0.30 (ZooKeeper, Tandem
only). Two VIPs, 198.18.1.10 (prefers lb1) and 198.18.1.11 (prefers lb2), port 80, active-active.

Systems (each a pair on lb1/lb2):
  tandem          the packaged `tandem.jar run` with the `ha:` section's default timing.
  tandem-bgp      the same with `ha.announce: {mode: bgp}` (single owner: the lease holder announces each VIP's
                  /32 to a router namespace `rt` 198.18.0.1 running BIRD 2 with ECMP and BFD 50 ms x 3; the VIP is
                  on the nodes' `lo`, `ha.address_lifetime: 2s`; the client routes the VIPs via the router).
  tandem-bgp-anycast  the same with `anycast: true`: both nodes announce both VIPs, the router spreads flows
                  (5-tuple hash). The victim alternates between the nodes; a new connection lands on the dead
                  node until the router drops its path, so the *gap* there is fault -> the first success after
                  the last failed attempt (the client whole again), and the wait is for 0.5 s of unbroken success.
  keepalived-1s   keepalived (VRRPv2, advert_int 1 = its default) + HAProxy (mode tcp) per node.
  keepalived-50ms the same with VRRPv3 and advert_int 0.05.
Scenarios (the fault hits the node that currently holds 198.18.1.10):
  crash   SIGKILL of the node's LB processes (Tandem: the JVM; keepalived system: keepalived, its
          VRRP child and HAProxy). The kernel keeps the dead node's VIP address (nobody removes it).
  host    host loss: `ip link set eth0 down` in the node's namespace (no FIN, nothing more reaches
          the peer, ZooKeeper or the client).
  freeze  SIGSTOP of the node's LB processes until the VIP has moved (+1 s), then SIGCONT.
After each trial the node is restored (crash: leftover VIPs deleted, processes restarted; host: link
up; freeze: thawed) and the pair must settle before the next trial; the next trial fails the
current owner again, so the nodes alternate.

Client (in `client`): a new TCP connection + `GET /` to 198.18.1.10:80 every --interval ms (10),
200 ms connect timeout, 1 s for the whole attempt, each attempt logged with wall-clock start/end.
Gap = fault -> end of the first successful attempt started after it; also last success before the
fault -> that one. `ip -ts monitor link address` in both node namespaces timestamps every address
add/remove and link change: split brain = the VIP on both nodes while both links are up and neither
node's LB processes are dead or frozen. Tandem's own INFO ownership lines give the breakdown.

Run through ../takeover (installs keepalived, builds Tandem). Needs root. Everything bounded; all
namespaces and processes removed on exit, also on failure or Ctrl-C.
"""
import argparse
import asyncio
import calendar
import json
import os
import re
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
from common import TANDEM_FLAGS

P = "ttko"
HOSTS = {"client": "198.18.0.2", "lb1": "198.18.0.11", "lb2": "198.18.0.12", "be": "198.18.0.20",
         "zk": "198.18.0.30", "rt": "198.18.0.1"}
VIP, VIP2 = "198.18.1.10", "198.18.1.11"
VIPS = (VIP, VIP2)
PREFERRED = {VIP: "lb1", VIP2: "lb2"}
NODES = ("lb1", "lb2")
PORT, BE_PORT, ZK_PORT, PEER_PORT, ADMIN = 80, 8080, 2181, 7946, 9090
SYSTEMS = ("tandem", "keepalived-1s", "keepalived-50ms", "tandem-bgp", "tandem-bgp-anycast")
LABEL = {"tandem-bgp": "tandem-bgp (single owner)", "tandem-bgp-anycast": "tandem-bgp (anycast)"}
SCENARIOS = ("crash", "host", "freeze")
ADVERT = {"keepalived-1s": 1.0, "keepalived-50ms": 0.05}
CONNECT_TIMEOUT, ATTEMPT_TIMEOUT = 0.2, 1.0
RECOVER_WAIT = 12.0    # fault -> first success must come within this, else the trial counts as not recovered
AFTER_RECOVERY = 1.0   # keep watching this long after the first success
SETTLE_TIMEOUT = 60.0

WORK = None
ROOT = Path(__file__).resolve().parents[2]
mono = time.monotonic
LIVE = []  # every Proc started, stopped on exit


def ns(host):
    return f"{P}-{host}"


def sh(cmd, check=True, timeout=10):
    r = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: exit {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return r


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} takeover: {msg}", flush=True)


class Proc:
    """A process in its own session; every output line is kept with the wall-clock time it was read."""

    def __init__(self, name, cmd, env=None):
        self.name = name
        self.lines = []
        self.log = open(WORK / f"{name}.log", "a")
        self.log.write(f"==== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True, bufsize=1, env=env)
        self.pid = self.p.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        LIVE.append(self)

    def _read(self):
        for line in self.p.stdout:
            self.lines.append((time.time(), line))
            self.log.write(line)
        self.log.flush()

    def wait_line(self, needle, timeout):
        deadline = mono() + timeout
        while mono() < deadline:
            if any(needle in l for _, l in list(self.lines)):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        tail = "".join(l for _, l in self.lines[-20:])
        raise RuntimeError(f"{self.name}: no '{needle}' within {timeout}s (exit {self.p.poll()}); output:\n{tail}")

    def after(self, t0, *needles):
        return [(t, l.strip()) for t, l in list(self.lines) if t >= t0 and all(n in l for n in needles)]

    def stop(self):
        for sig in (signal.SIGCONT, signal.SIGTERM):
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(timeout=5)
        self.reader.join(timeout=2)
        if self in LIVE:
            LIVE.remove(self)


def tree(pid):
    out = [pid]
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    for k in r.stdout.split():
        out += tree(int(k))
    return out


# ---------------------------------------------------------------- topology

def sweep():
    """Deletes namespaces of earlier runs (ours: prefix ttko-) after killing the processes inside them."""
    for line in sh("ip netns list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(P + "-"):
            for pid in sh(["ip", "netns", "pids", name], check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh(["ip", "netns", "delete", name], check=False)


def build_topology():
    br = ns("br")
    sh(["ip", "netns", "add", br])
    sh(["ip", "-n", br, "link", "add", "br0", "type", "bridge"])
    sh(["ip", "-n", br, "link", "set", "br0", "up"])
    for host, addr in HOSTS.items():
        n = ns(host)
        sh(["ip", "netns", "add", n])
        sh(["ip", "-n", br, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", n])
        sh(["ip", "-n", br, "link", "set", host, "master", "br0"])
        sh(["ip", "-n", br, "link", "set", host, "up"])
        sh(["ip", "-n", n, "addr", "add", f"{addr}/16", "dev", "eth0"])
        sh(["ip", "-n", n, "link", "set", "eth0", "up"])
        sh(["ip", "-n", n, "link", "set", "lo", "up"])
    # The BGP systems' router forwards client -> node on the same segment: no ICMP redirect may teach the
    # client to bypass it (it would keep sending to a dead node's MAC).
    sh(nsx("rt", "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1",
           "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0"))
    sh(nsx("client", "sysctl", "-qw", "net.ipv4.conf.all.accept_redirects=0", "net.ipv4.conf.eth0.accept_redirects=0"))


def nsx(host, *cmd):
    return ["ip", "netns", "exec", ns(host), *cmd]


def vips_on(host):
    # eth0 (ARP systems) or lo (BGP systems: the address is the announcement)
    out = sh(["ip", "-n", ns(host), "-o", "-4", "addr", "show"], check=False).stdout
    return {a for a in re.findall(r"inet (\S+)/32", out)}


def link_up(host):
    out = sh(["ip", "-n", ns(host), "-o", "link", "show", "dev", "eth0"], check=False).stdout
    m = re.search(r"<([^>]*)>", out)
    return bool(m) and "UP" in m.group(1).split(",") and "LOWER_UP" in m.group(1).split(",")


def del_vips(host):
    for v in VIPS:
        for dev in ("eth0", "lo"):
            sh(["ip", "-n", ns(host), "addr", "del", f"{v}/32", "dev", dev], check=False)


# ---------------------------------------------------------------- address / link monitor

MON_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)\]\s*(Deleted )?(.*)$")


class Monitor:
    """`ip -ts monitor link address` in one node namespace: (t, host, 'addr', vip, added) and
    (t, host, 'link', None, up) events with the kernel-notification timestamps `ip` prints."""

    def __init__(self, host):
        self.host = host
        self.events = []
        self.proc = Proc(f"monitor-{host}", ["ip", "-n", ns(host), "-ts", "-o", "monitor", "link", "address"])
        self.seen = 0
        self.lock = threading.Lock()

    def poll(self):
        with self.lock:
            lines = self.proc.lines[self.seen:]
            self.seen += len(lines)
            for read_at, line in lines:
                m = MON_LINE.match(line.strip())
                if not m:
                    continue
                t = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float("0." + m.group(2))
                body = m.group(4)
                if "eth0" not in body and not re.match(r"\d+: lo\b", body):
                    continue
                a = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/32\b", body)
                if a:
                    self.events.append((t, self.host, "addr", a.group(1), m.group(3) is None))
                    continue
                f = re.search(r"eth0[^:]*: <([^>]*)>", body)
                if f and m.group(3) is None:
                    flags = f.group(1).split(",")
                    self.events.append((t, self.host, "link", None, "UP" in flags and "LOWER_UP" in flags))
        return self.events


class NeighMonitor:
    """`ip -ts monitor neigh` in the client namespace: when the client's ARP entry for the VIP changes MAC."""

    def __init__(self):
        self.proc = Proc("monitor-client-neigh", ["ip", "-n", ns("client"), "-ts", "-o", "monitor", "neigh"])
        self.seen = 0
        self.events = []

    def poll(self):
        lines = self.proc.lines[self.seen:]
        self.seen += len(lines)
        for _, line in lines:
            m = MON_LINE.match(line.strip())
            if not m:
                continue
            a = re.search(rf"^{re.escape(VIP)} dev eth0 lladdr (\S+)", m.group(4))
            if a and m.group(3) is None:
                t = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float("0." + m.group(2))
                self.events.append((t, a.group(1)))
        return self.events


def mac(host):
    out = sh(["ip", "-n", ns(host), "-o", "link", "show", "dev", "eth0"]).stdout
    return re.search(r"link/ether (\S+)", out).group(1)


# ---------------------------------------------------------------- client

CLIENT_REQUEST = b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n"


async def _attempt(host, port, out):
    loop = asyncio.get_running_loop()
    t0 = time.time()
    outcome = "ok"
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    phase = "connect"
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await loop.sock_connect(s, (host, port))
        phase = "read"
        async with asyncio.timeout(max(0.001, ATTEMPT_TIMEOUT - (time.time() - t0))):
            await loop.sock_sendall(s, CLIENT_REQUEST)
            data = b""
            while chunk := await loop.sock_recv(s, 4096):
                data += chunk
        if not data:
            outcome = "eof"
        elif not data.startswith(b"HTTP/1.1 200"):
            outcome = "bad-response"
    except TimeoutError:
        outcome = f"{phase}-timeout"
    except ConnectionRefusedError:
        outcome = "refused"
    except ConnectionResetError:
        outcome = "reset"
    except OSError as e:
        outcome = f"oserror-{e.errno}"
    finally:
        s.close()
    out.write(f"A {t0:.6f} {time.time():.6f} {outcome}\n")
    out.flush()


async def _client_loop(target, interval, max_seconds):
    host, port = target.rsplit(":", 1)
    port = int(port)
    end = time.time() + max_seconds
    nxt = mono()
    tasks = set()
    sys.stdout.write("client started\n")
    sys.stdout.flush()
    while time.time() < end:
        delay = nxt - mono()
        if delay > 0:
            await asyncio.sleep(delay)
        nxt += interval
        if len(tasks) < 400:  # bounded: at most 400 attempts in flight
            t = asyncio.create_task(_attempt(host, port, sys.stdout))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks, return_exceptions=True)


def client_main(argv):
    target, interval_ms, max_seconds = argv[0], float(argv[1]), float(argv[2])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(_client_loop(target, interval_ms / 1000, max_seconds))


class Client:
    def __init__(self, interval_ms, max_seconds):
        # SCHED_FIFO so the 10 ms schedule holds on a loaded box (the client does almost nothing per attempt)
        self.proc = Proc("client", nsx("client", "chrt", "-f", "10", sys.executable, str(Path(__file__).resolve()), "--client-loop",
                                       f"{VIP}:{PORT}", str(interval_ms), str(max_seconds)))
        self.proc.wait_line("client started", 10)
        self.seen = 0
        self.attempts = []

    def poll(self):
        lines = self.proc.lines[self.seen:]
        self.seen += len(lines)
        for _, l in lines:
            f = l.split()
            if len(f) == 4 and f[0] == "A":
                self.attempts.append((float(f[1]), float(f[2]), f[3]))
        return self.attempts

    def first_ok_after(self, t):
        oks = [a for a in self.poll() if a[2] == "ok" and a[0] >= t]
        return min(oks, key=lambda a: a[1]) if oks else None

    def healthy_since(self, t, span):
        """The attempts that started in the last `span` (+0.3) seconds, and after t, all succeeded and cover `span`."""
        now = time.time()
        recent = [a for a in self.poll() if a[0] >= max(t, now - span - 0.3)]
        return bool(recent) and all(a[2] == "ok" for a in recent) and recent[-1][0] - recent[0][0] >= span


# ---------------------------------------------------------------- systems

def java():
    return sh(f"bash -c 'source {ROOT}/scripts/find-jdk.sh; tandem_find_java'").stdout.strip()


class Tandem:
    name = "tandem"

    def __init__(self, run_id):
        self.cluster = f"takeover{run_id}"
        self.nodes = {}
        self.java = java()

    def config(self, me):
        other = "lb2" if me == "lb1" else "lb1"
        return f"""admin: {{listen: 127.0.0.1:{ADMIN}}}
vips:
  - {{name: web10, listen: "{VIP}:{PORT}", backends: ["{HOSTS['be']}:{BE_PORT}"]}}
  - {{name: web11, listen: "{VIP2}:{PORT}", backends: ["{HOSTS['be']}:{BE_PORT}"]}}
ha:
  node_id: {me}
  cluster: {self.cluster}
  listen: {HOSTS[me]}:{PEER_PORT}
  peers: [{{id: {other}, address: "{HOSTS[other]}:{PEER_PORT}"}}]
  zookeeper: {{connect: "{HOSTS['zk']}:{ZK_PORT}"}}
  interface: eth0
  addresses:
    - {{address: {VIP}, preferred_owner: lb1}}
    - {{address: {VIP2}, preferred_owner: lb2}}
"""

    def start_node(self, me):
        cfg = WORK / f"tandem-{me}.yaml"
        cfg.write_text(self.config(me))
        flags = [*TANDEM_FLAGS.split(), "-XX:+ExitOnOutOfMemoryError",
                 "--enable-native-access=ALL-UNNAMED"]  # the launcher's (./tandem) flags
        self.nodes[me] = Proc(f"tandem-{me}", nsx(me, self.java, *flags, "-jar", str(ROOT / "lb-core/target/tandem.jar"),
                                                  "run", "--no-watch", "--node-name", me, "--config", str(cfg)))

    def api(self, me):
        r = sh(nsx(me, "curl", "-s", "-m", "1", f"http://127.0.0.1:{ADMIN}/api/ha"), check=False)
        try:
            return json.loads(r.stdout) if r.returncode == 0 else None
        except ValueError:
            return None

    def start(self):
        self.start_node("lb1")
        wait_for(lambda: (self.api("lb1") or {}).get("zk") == "CONNECTED", 60, "lb1 connected to ZooKeeper",
                 self.nodes["lb1"])
        self.start_node("lb2")
        self.settle(90)

    def ready(self):
        for me in NODES:
            v = self.api(me)
            if not v or v.get("zk") != "CONNECTED" or not v.get("peers") \
                    or not all(p.get("linkUp") for p in v["peers"]):
                return False
        return each_vip_on_one_node()

    def settle(self, timeout=SETTLE_TIMEOUT):
        wait_for(self.ready, timeout, "tandem pair settled (ZooKeeper connected, peer links up, each VIP on one node)",
                 *self.nodes.values())

    def pids(self, me):
        return [self.nodes[me].pid]

    def procs(self, me):
        return [self.nodes[me]]

    def restored(self, me):
        pass

    def restart(self, me):
        self.nodes[me].stop()
        self.start_node(me)

    def stop(self):
        for p in self.nodes.values():
            p.stop()

    def describe(self):
        return self.config("lb1")


ROUTER_AS, NODE_AS = 65000, 65001


def router_next_hops(vip):
    out = sh(nsx("rt", "ip", "route", "show", f"{vip}/32"), check=False).stdout
    return sorted(re.findall(r"via (\S+)", out))


class TandemBgp(Tandem):
    """Tandem with `ha.announce: {mode: bgp}` against BIRD 2 in `rt`; `anycast` = every node announces."""

    def __init__(self, run_id, anycast):
        super().__init__(run_id)
        self.anycast = anycast
        self.name = "tandem-bgp-anycast" if anycast else "tandem-bgp"
        self.router = None
        self.next_victim = 0

    def config(self, me):
        other = "lb2" if me == "lb1" else "lb1"
        return f"""admin: {{listen: 127.0.0.1:{ADMIN}}}
vips:
  - {{name: web10, listen: "{VIP}:{PORT}", policy: maglev, backends: ["{HOSTS['be']}:{BE_PORT}"]}}
  - {{name: web11, listen: "{VIP2}:{PORT}", policy: maglev, backends: ["{HOSTS['be']}:{BE_PORT}"]}}
ha:
  node_id: {me}
  cluster: {self.cluster}
  listen: {HOSTS[me]}:{PEER_PORT}
  peers: [{{id: {other}, address: "{HOSTS[other]}:{PEER_PORT}"}}]
  zookeeper: {{connect: "{HOSTS['zk']}:{ZK_PORT}"}}
  interface: lo
  address_lifetime: 2s
  addresses:
    - {{address: {VIP}, preferred_owner: lb1}}
    - {{address: {VIP2}, preferred_owner: lb2}}
  announce:
    mode: bgp
    anycast: {str(self.anycast).lower()}
    local_as: {NODE_AS}
    neighbors: [{{address: {HOSTS['rt']}, as: {ROUTER_AS}}}]
    bfd: {{interval: 50ms, multiplier: 3}}
    run_dir: {WORK}/bird-{me}
"""

    def router_config(self):
        return f"""router id {HOSTS['rt']};
log stderr all;
protocol device {{ scan time 10; }}
protocol kernel {{ ipv4 {{ import none; export all; }}; merge paths on; }}
protocol bfd {{ interface "*" {{ min rx interval 50 ms; min tx interval 50 ms; multiplier 3; }}; }}
template bgp node {{ local as {ROUTER_AS}; bfd on; hold time 3; connect retry time 1; error wait time 1, 5;
  ipv4 {{ import all; export none; }}; }}
protocol bgp lb1 from node {{ neighbor {HOSTS['lb1']} as {NODE_AS}; }}
protocol bgp lb2 from node {{ neighbor {HOSTS['lb2']} as {NODE_AS}; }}
"""

    def start(self):
        conf = WORK / "router-bird.conf"
        conf.write_text(self.router_config())
        self.router = Proc("router-bird", nsx("rt", "setpriv", "--pdeathsig", "KILL", "--", "bird", "-f", "-c",
                                              str(conf), "-s", str(WORK / "router.ctl")))
        for v in VIPS:
            sh(nsx("client", "ip", "route", "replace", f"{v}/32", "via", HOSTS["rt"]))
        super().start()

    def ready(self):
        for me in NODES:
            v = self.api(me)
            if not v or v.get("zk") != "CONNECTED" or not v.get("peers") \
                    or not all(p.get("linkUp") for p in v["peers"]):
                return False
        if not all(link_up(n) for n in NODES):
            return False
        held = {n: vips_on(n) for n in NODES}
        for vip in VIPS:
            holders = sorted(HOSTS[n] for n in NODES if vip in held[n])
            if self.anycast and len(holders) != len(NODES):
                return False
            if not self.anycast and len(holders) != 1:
                return False
            if router_next_hops(vip) != holders:
                return False
        return True

    def settle(self, timeout=SETTLE_TIMEOUT):
        wait_for(self.ready, timeout, f"{self.name} settled (ZooKeeper, peer links, the router's routes match the "
                 "holders)", *self.nodes.values())

    def pick_victim(self):
        if not self.anycast:
            holders = [n for n in NODES if VIP in vips_on(n)]
            if len(holders) != 1:
                raise RuntimeError(f"{VIP} held by {holders}")
            return holders[0]
        victim = NODES[self.next_victim % len(NODES)]
        self.next_victim += 1
        return victim

    def stop(self):
        super().stop()
        if self.router:
            self.router.stop()
        for v in VIPS:
            sh(nsx("client", "ip", "route", "del", f"{v}/32"), check=False)

    def describe(self):
        return self.config("lb1") + "\n# router (BIRD 2 in rt)\n" + self.router_config()


class Keepalived:
    def __init__(self, name):
        self.name = name
        self.advert = ADVERT[name]
        self.v3 = self.advert < 1
        self.haproxy = {}
        self.keepalived = {}
        self.started_at = {}
        self.starts = 0

    def haproxy_cfg(self):
        return f"""global
    maxconn 4000
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 2
listen web10
    bind {VIP}:{PORT}
    server be1 {HOSTS['be']}:{BE_PORT} check inter 1s
listen web11
    bind {VIP2}:{PORT}
    server be1 {HOSTS['be']}:{BE_PORT} check inter 1s
"""

    def keepalived_cfg(self, me):
        other = "lb2" if me == "lb1" else "lb1"
        adv = "0.05" if self.v3 else "1"
        inst = []
        for vip, vrid in ((VIP, 10), (VIP2, 11)):
            prio = 150 if PREFERRED[vip] == me else 100
            inst.append(f"""vrrp_instance VI_{vrid} {{
    state BACKUP            # both BACKUP + nopreempt: a returning node does not take the VIP back
    nopreempt
    interface eth0
    virtual_router_id {vrid}
    priority {prio}
    advert_int {adv}
    unicast_src_ip {HOSTS[me]}
    unicast_peer {{
        {HOSTS[other]}
    }}
    virtual_ipaddress {{
        {vip}/32 dev eth0
    }}
    track_script {{
        chk_haproxy
    }}
}}""")
        return f"""global_defs {{
    router_id {me}
    {"vrrp_version 3" if self.v3 else "vrrp_version 2"}
    enable_script_security
    script_user root
    # gratuitous ARPs (the 2.2.7 defaults, spelled out): 5 at once on becoming MASTER, 5 more 5 s
    # later, no gap between them (vrrp_garp_interval unset), no periodic refresh
    vrrp_garp_master_delay 5
    vrrp_garp_master_repeat 5
}}
vrrp_script chk_haproxy {{
    script "{WORK}/chk-haproxy-{me}.sh"
    interval 1
    fall 2
    rise 2
}}
""" + "\n".join(inst) + "\n"

    def start_node(self, me):
        hcfg = WORK / f"haproxy-{self.name}.cfg"
        hcfg.write_text(self.haproxy_cfg())
        self.haproxy[me] = Proc(f"{self.name}-haproxy-{me}", nsx(me, "haproxy", "-db", "-f", str(hcfg)))
        pidf = WORK / f"haproxy-{me}.pid"
        pidf.write_text(str(self.haproxy[me].pid))
        chk = WORK / f"chk-haproxy-{me}.sh"
        chk.write_text(f"#!/bin/sh\nexec kill -0 $(cat {pidf})\n")
        chk.chmod(0o700)
        kcfg = WORK / f"keepalived-{self.name}-{me}.conf"
        kcfg.write_text(self.keepalived_cfg(me))
        # fresh pid files per start: a SIGKILLed keepalived leaves its own behind (and, if nothing reaps
        # the killed children at once, a zombie with that pid makes the new one exit "already running")
        self.starts += 1
        run = WORK / f"run-{self.name}-{me}-{self.starts}"
        run.mkdir()
        self.keepalived[me] = Proc(f"{self.name}-keepalived-{me}",
                                   nsx(me, "keepalived", "-n", "-l", "-D", "-G", "-P", "-f", str(kcfg),
                                       "-p", str(run / "keepalived.pid"), "-r", str(run / "vrrp.pid"),
                                       "-c", str(run / "checkers.pid"), "-i", me))
        self.started_at[me] = mono()

    def start(self):
        for me in NODES:
            sh(nsx(me, "sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"))  # HAProxy binds the VIPs it may not hold yet
            self.start_node(me)
        self.settle(30)

    def ready(self):
        if any(self.haproxy[m].p.poll() is not None or self.keepalived[m].p.poll() is not None for m in NODES):
            return False
        # a (re)started node must have heard the master's adverts for a while before it counts as a backup
        if any(mono() - t < 3 * self.advert + 0.5 for t in self.started_at.values()):
            return False
        return each_vip_on_one_node()

    def settle(self, timeout=SETTLE_TIMEOUT):
        wait_for(self.ready, timeout, f"{self.name} pair settled (each VIP on one node)",
                 *self.keepalived.values(), *self.haproxy.values())

    def procs(self, me):
        return [self.keepalived[me], self.haproxy[me]]

    def pids(self, me):
        # keepalived's parent first (so it cannot respawn its VRRP child), then its children, then HAProxy
        return tree(self.keepalived[me].pid) + [self.haproxy[me].pid]

    def restored(self, me):
        self.started_at[me] = mono()

    def restart(self, me):
        self.keepalived[me].stop()
        self.haproxy[me].stop()
        self.start_node(me)

    def stop(self):
        for d in (self.keepalived, self.haproxy):
            for p in d.values():
                p.stop()
        for me in NODES:
            sh(nsx(me, "sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=0"), check=False)

    def describe(self):
        return self.keepalived_cfg("lb1") + "\n# HAProxy (both nodes)\n" + self.haproxy_cfg()

    def master_lines(self, me, t0):
        return self.keepalived[me].after(t0, "VI_10", "Entering MASTER STATE")


def each_vip_on_one_node():
    held = {n: vips_on(n) for n in NODES}
    return all(sum(v in held[n] for n in NODES) == 1 for v in VIPS) and all(link_up(n) for n in NODES)


def wait_for(cond, timeout, what, *procs):
    deadline = mono() + timeout
    while mono() < deadline:
        for p in procs:
            if p.p.poll() is not None:
                tail = "".join(l for _, l in p.lines[-25:])
                raise RuntimeError(f"{p.name} exited ({p.p.returncode}) while waiting for {what}:\n{tail}")
        if cond():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}; "
                       f"VIPs lb1={sorted(vips_on('lb1'))} lb2={sorted(vips_on('lb2'))}")


# ---------------------------------------------------------------- one trial

TS = re.compile(r"^ts=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z")


def own_ts(line):
    m = TS.match(line)
    if not m:
        return None
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000


def kv(line, key):
    m = re.search(rf"\b{key}=(\S+)", line)
    return m.group(1) if m else None


def trial(system, scenario, client, monitors, proc_events, neigh):
    system.settle()
    t_ready = time.time()
    while not client.healthy_since(t_ready, 1.0):
        if time.time() - t_ready > 20:
            raise RuntimeError("client did not see 1 s of uninterrupted success within 20 s before the fault")
        time.sleep(0.05)
    if hasattr(system, "pick_victim"):
        victim = system.pick_victim()
    else:
        holders = [n for n in NODES if VIP in vips_on(n)]
        if len(holders) != 1:
            raise RuntimeError(f"{VIP} held by {holders}")
        victim = holders[0]
    survivor = "lb2" if victim == "lb1" else "lb1"
    load = os.getloadavg()[0]
    pids = system.pids(victim)
    fault = {}
    exits = []
    if scenario == "crash":
        for pr in system.procs(victim):
            threading.Thread(target=lambda pr=pr: (pr.p.wait(), exits.append(time.time())), daemon=True).start()
    if scenario in ("crash", "freeze"):
        sig = signal.SIGKILL if scenario == "crash" else signal.SIGSTOP
        t_before = time.time()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        t_fault = time.time()
        proc_events.append((t_fault, victim, "proc", None, False))
    else:
        t_before = time.time()
        sh(["ip", "-n", ns(victim), "link", "set", "eth0", "down"])
        t_fault = time.time()
        downs = [e for e in monitors[victim].poll() if e[2] == "link" and not e[4] and e[0] >= t_before - 0.05]
        if downs:
            t_fault = downs[0][0]  # the kernel's own time of the link change
    fault["issue_ms"] = round((t_fault - t_before) * 1000, 2)
    # wait for the VIP to be served again
    deadline = t_fault + RECOVER_WAIT
    first = None
    anycast = getattr(system, "anycast", False)
    while time.time() < deadline:
        if anycast:
            # The survivor answers the flows hashed to it at once; whole again = 0.5 s of attempts that all
            # succeeded, judged only once every one of them has finished (a hung one takes ATTEMPT_TIMEOUT).
            w_end = time.time() - ATTEMPT_TIMEOUT - 0.05
            window = [a for a in client.poll() if w_end - 0.5 <= a[0] <= w_end]
            if w_end - 0.5 >= t_fault and window and all(a[2] == "ok" for a in window):
                bad = [a[0] for a in client.poll() if a[2] != "ok" and t_fault <= a[0] <= w_end]
                first = client.first_ok_after(max(bad) if bad else t_fault)
                break
        else:
            first = client.first_ok_after(t_fault)
        if first:
            break
        time.sleep(0.02)
    if first:
        time.sleep(AFTER_RECOVERY)
    if exits:
        fault["victim_exited_ms"] = round((max(exits) - t_fault) * 1000, 1)
    survivor_took = [e for e in monitors[survivor].poll() if e[2] == "addr" and e[3] == VIP and e[4]
                     and e[0] >= t_fault]
    # restore
    if scenario == "crash":
        del_vips(victim)  # what ExecStopPost / the restarted node's sweep would do
        system.restart(victim)
        proc_events.append((time.time(), victim, "proc", None, True))
    elif scenario == "freeze":
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        proc_events.append((time.time(), victim, "proc", None, True))
        fault["thaw_at"] = time.time()
    else:
        sh(["ip", "-n", ns(victim), "link", "set", "eth0", "up"])
    system.restored(victim)
    try:
        system.settle()
        settled = True
    except RuntimeError as e:
        log(f"{system.name} {scenario}: did not settle after restore: {e}")
        settled = False
    time.sleep(0.5)
    t_end = time.time()
    r = analyse(system, scenario, victim, survivor, t_fault, t_end, first, client, monitors, proc_events,
                survivor_took)
    moved = [t for t, m in neigh.poll() if t >= t_fault and m == mac(survivor)]
    r["client_arp_moved_ms"] = round((moved[0] - t_fault) * 1000, 1) if moved else None
    if isinstance(system, TandemBgp):
        # the client reaches the VIP through the router: its ARP entry for the VIP (learnt from a node's ARP
        # request sent from the VIP) carries no traffic; anycast: both nodes hold the address all along (and
        # renew its lifetime), so "added on the survivor" means nothing either
        r["client_arp_moved_ms"] = None
        if system.anycast:
            r["address_added_ms"] = None
    r.update(fault, load1=round(load, 2), settled=settled)
    if not settled:
        raise Unsettled(r)
    return r


class Unsettled(Exception):
    def __init__(self, result):
        super().__init__("pair did not settle after restore")
        self.result = result


def overlaps(monitors, proc_events, t_from, t_to):
    """Windows (vip, start, end) in which a VIP was on both nodes while both links were up and both nodes'
    LB processes were running (not killed, not stopped), from the monitors' complete event history."""
    events = sorted([e for m in monitors.values() for e in m.poll()] + proc_events, key=lambda e: e[0])
    held = {n: set() for n in NODES}
    up = {n: True for n in NODES}
    alive = {n: True for n in NODES}
    open_, out = {}, []
    for t, host, kind, vip, val in events:
        if kind == "addr":
            (held[host].add if val else held[host].discard)(vip)
        elif kind == "link":
            up[host] = val
        else:
            alive[host] = val
        for v in VIPS:
            both = all(v in held[n] and up[n] and alive[n] for n in NODES)
            if both and v not in open_:
                open_[v] = t
            elif not both and v in open_:
                out.append((v, open_.pop(v), t))
    now = time.time()
    out += [(v, s, now) for v, s in open_.items()]
    return [(v, max(s, t_from), min(e, t_to)) for v, s, e in out if e > t_from and s < t_to]


def analyse(system, scenario, victim, survivor, t_fault, t_end, first, client, monitors, proc_events, took):
    attempts = [a for a in client.poll() if a[1] >= t_fault - 2 and a[0] <= t_end]
    ok_before = [a[1] for a in attempts if a[2] == "ok" and a[1] <= t_fault]
    r = {"system": system.name, "scenario": scenario, "victim": victim, "survivor": survivor,
         "t_fault": t_fault, "t_end": t_end}
    if first:
        r["gap_ms"] = round((first[1] - t_fault) * 1000, 1)
        r["gap_ok_to_ok_ms"] = round((first[1] - max(ok_before)) * 1000, 1) if ok_before else None
        r["failed"] = sum(1 for a in attempts if a[2] != "ok" and a[1] >= t_fault and a[0] < first[0])
        r["failed_after_recovery"] = sum(1 for a in attempts if a[2] != "ok" and a[0] > first[0])
    else:
        r["gap_ms"] = r["gap_ok_to_ok_ms"] = None
        r["failed"] = sum(1 for a in attempts if a[2] != "ok" and a[1] >= t_fault)
        r["failed_after_recovery"] = None
    kinds = {}
    for a in attempts:
        if a[2] != "ok" and a[1] >= t_fault:
            kinds[a[2]] = kinds.get(a[2], 0) + 1
    r["failure_kinds"] = kinds
    starts = sorted(a[0] for a in attempts if t_fault - 0.5 <= a[0] <= (first[0] if first else t_end))
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    r["client_spacing_ms"] = {"median": round(statistics.median(gaps) * 1000, 1),
                              "max": round(max(gaps) * 1000, 1)} if gaps else None
    r["address_added_ms"] = round((took[0][0] - t_fault) * 1000, 1) if took else None
    # anycast: both nodes hold the addresses by design; there is no split brain to measure
    sb = [] if getattr(system, "anycast", False) else overlaps(monitors, proc_events, t_fault, t_end)
    r["split_brain_max_ms"] = round(max((e - s for _, s, e in sb), default=0) * 1000, 1)
    r["split_brain_windows"] = [(v, round((s - t_fault) * 1000, 1), round((e - s) * 1000, 1)) for v, s, e in sb]
    # the client's attempts around the fault, for the timeline plot (times relative to the fault, ms)
    r["attempts"] = [(round((a[0] - t_fault) * 1000, 1), round((a[1] - t_fault) * 1000, 1), a[2])
                     for a in attempts if t_fault - 0.5 <= a[0] <= (first[1] if first else t_end) + 0.5]
    rel = lambda t: round((t - t_fault) * 1000, 1) if t is not None else None
    if isinstance(system, Tandem):
        node = system.nodes[survivor]
        def first_line(*needles):
            hits = node.after(t_fault - 0.5, *needles)
            hits = [(own_ts(l), l) for _, l in hits if own_ts(l) is not None and own_ts(l) >= t_fault - 0.002]
            return hits[0] if hits else (None, None)
        t_lost, l_lost = first_line("peer link lost", f"node={survivor}")
        t_probe, _ = first_line("peer probe", f"node={survivor}")
        t_dead, _ = first_line("peer declared dead", f"node={survivor}")
        t_acq, l_acq = first_line("vip acquired", f"node={survivor}", f"address={VIP} ")
        r["tandem"] = {"link_lost_ms": rel(t_lost), "link_lost_cause": kv(l_lost, "cause") if l_lost else None,
                       "probe_ms": rel(t_probe), "declared_dead_ms": rel(t_dead), "acquired_log_ms": rel(t_acq),
                       "acquired_line": l_acq,
                       **({k: int(kv(l_acq, k)) for k in ("silence_ms", "decide_ms", "address_ms", "takeover_ms")
                           if kv(l_acq, k) is not None} if l_acq else {})}
        if scenario in ("host", "freeze"):
            t_rel, l_rel = (None, None)
            hits = system.nodes[victim].after(t_fault - 0.5, "vip released", f"address={VIP} ")
            if hits:
                t_rel, l_rel = own_ts(hits[0][1]), hits[0][1]
            r["tandem"]["victim_released_ms"] = rel(t_rel)
            r["tandem"]["victim_released_cause"] = kv(l_rel, "cause") if l_rel else None
    else:
        m = system.master_lines(survivor, t_fault - 0.01)
        r["keepalived_master_ms"] = rel(m[0][0]) if m else None
    return r


# ---------------------------------------------------------------- report

def pct(values, q):
    """Nearest-rank percentile: with 10 values p50 is the 5th and p99 the 10th (the max)."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    import math
    return vals[max(0, math.ceil(q * len(vals)) - 1)]


def summarise(trials, systems, scenarios):
    out = {}
    for sc in scenarios:
        for sy in systems:
            rs = [t for t in trials if t["system"] == sy and t["scenario"] == sc and "error" not in t]
            if not rs:
                continue
            gaps = [t["gap_ms"] for t in rs]
            c = {"trials": len(rs), "not_recovered": sum(1 for g in gaps if g is None),
                 "gap_p50": pct(gaps, .5), "gap_p99": pct(gaps, .99), "gap_max": max((g for g in gaps if g is not None), default=None),
                 "gap_ok_to_ok_p50": pct([t["gap_ok_to_ok_ms"] for t in rs], .5),
                 "gap_ok_to_ok_p99": pct([t["gap_ok_to_ok_ms"] for t in rs], .99),
                 "failed_p50": pct([t["failed"] for t in rs], .5), "failed_p99": pct([t["failed"] for t in rs], .99),
                 "failed_after_recovery_max": max((t["failed_after_recovery"] or 0 for t in rs), default=0),
                 "split_brain_max_ms": max(t["split_brain_max_ms"] for t in rs),
                 "address_added_p50": pct([t["address_added_ms"] for t in rs], .5),
                 "address_added_max": max((t["address_added_ms"] for t in rs if t["address_added_ms"] is not None), default=None),
                 "client_arp_moved_p50": pct([t.get("client_arp_moved_ms") for t in rs], .5),
                 "client_arp_moved_max": max((t["client_arp_moved_ms"] for t in rs if t.get("client_arp_moved_ms") is not None), default=None),
                 "load1_median": statistics.median(t["load1"] for t in rs),
                 "client_spacing_max": max((t["client_spacing_ms"]["max"] for t in rs if t.get("client_spacing_ms")), default=None),
                 "victim_exited_p50": pct([t.get("victim_exited_ms") for t in rs], .5),
                 "victim_exited_max": max((t["victim_exited_ms"] for t in rs if t.get("victim_exited_ms") is not None), default=None)}
            if sy.startswith("tandem"):
                for k in ("link_lost_ms", "probe_ms", "declared_dead_ms", "acquired_log_ms", "silence_ms", "decide_ms",
                          "address_ms", "victim_released_ms"):
                    vals = [t["tandem"].get(k) for t in rs if t.get("tandem")]
                    if any(v is not None for v in vals):
                        c[k + "_p50"] = pct(vals, .5)
                        c[k + "_max"] = max(v for v in vals if v is not None)
            else:
                c["master_p50"] = pct([t.get("keepalived_master_ms") for t in rs], .5)
            out.setdefault(sc, {})[sy] = c
    return out


SC_TITLE = {"crash": "process crash (SIGKILL)", "host": "host loss (link down)", "freeze": "freeze (SIGSTOP)"}


def f0(v):
    return "–" if v is None else f"{v:.0f}"


def render(s):
    m = s["machine"]
    L = [f"# Tandem HA takeover vs keepalived — {m['date']}", "",
         f"Machine: {m['cores']} cores ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}; {m['java']}; "
         f"{m['haproxy']}; {m['keepalived']}. Load average (1 min) at the start of the runs: "
         f"{', '.join(str(x) for x in s['load_at_start'])}; median over trials per cell below. "
         f"Everything (both nodes, ZooKeeper, backend, client) shares these cores.", "",
         f"Client: new TCP connection + `GET /` to {VIP}:80 every {s['args']['interval']} ms, "
         f"{CONNECT_TIMEOUT * 1000:.0f} ms connect timeout, {ATTEMPT_TIMEOUT:.0f} s per attempt. *Gap* = fault → "
         "end of the first successful attempt started after it; *ok→ok* = last success before the fault → that "
         "one; *failed* = attempts that failed between the fault and the first success; *split brain* = longest "
         "window with the VIP on both nodes while both links were up and both nodes' LB processes ran "
         "(`ip -ts monitor address`). p50/p99 are nearest-rank: with 10 trials p99 = the max.", ""]
    L += ["| scenario | system | trials | gap p50 | gap p99 | gap max | ok→ok p50 | ok→ok p99 | failed p50 | "
          "failed p99 | failed after recovery (max) | split brain max ms | VIP added on survivor p50 / max | "
          "client ARP moved p50 / max | load1 |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for sc, cells in s["summary"].items():
        for sy, c in cells.items():
            nr = f" ({c['not_recovered']} not recovered in {RECOVER_WAIT:.0f} s)" if c["not_recovered"] else ""
            L.append(f"| {SC_TITLE[sc]} | {LABEL.get(sy, sy)} | {c['trials']}{nr} | {f0(c['gap_p50'])} | {f0(c['gap_p99'])} | "
                     f"{f0(c['gap_max'])} | {f0(c['gap_ok_to_ok_p50'])} | {f0(c['gap_ok_to_ok_p99'])} | "
                     f"{f0(c['failed_p50'])} | {f0(c['failed_p99'])} | {c['failed_after_recovery_max']} | "
                     f"{c['split_brain_max_ms']:.0f} | {f0(c['address_added_p50'])} / {f0(c['address_added_max'])} | "
                     f"{f0(c['client_arp_moved_p50'])} / {f0(c['client_arp_moved_max'])} | {c['load1_median']:.1f} |")
    L += ["", "All times in ms from the fault.", "",
          "## Where Tandem's time goes (survivor's own log timestamps, ms after the fault; p50 / max)", "",
          "| scenario | peer link lost | probe written | peer declared dead | VIP acquired (logged) | VIP on interface "
          "(ip monitor) | client ARP entry moved | first client success (gap) | silence_ms | decide_ms | address_ms | "
          "victim released |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for sc, cells in s["summary"].items():
        c = cells.get("tandem")
        if not c:
            continue
        g = lambda k: f"{f0(c.get(k + '_p50'))} / {f0(c.get(k + '_max'))}" if c.get(k + "_p50") is not None else "–"
        # (address_added / client_arp_moved are summarised for every system)
        L.append(f"| {SC_TITLE[sc]} | {g('link_lost_ms')} | {g('probe_ms')} | {g('declared_dead_ms')} | "
                 f"{g('acquired_log_ms')} | {g('address_added')} | {g('client_arp_moved')} | "
                 f"{f0(c['gap_p50'])} / {f0(c['gap_max'])} | "
                 f"{g('silence_ms')} | {g('decide_ms')} | {g('address_ms')} | {g('victim_released_ms')} |")
    sp = [c["client_spacing_max"] for cells in s["summary"].values() for c in cells.values() if c["client_spacing_max"]]
    if sp:
        L += ["", f"Client resolution: the longest pause between two attempt starts from 0.5 s before a fault to "
                  f"the first success was {max(sp):.0f} ms over all trials (target {s['args']['interval']:.0f} ms)."]
    ex = [(sy, c) for cells in s["summary"].values() for sy, c in cells.items() if c.get("victim_exited_p50") is not None]
    if ex:
        L += ["", "SIGKILL → the killed processes reaped (ms, p50 / max): " + "; ".join(
            f"{sy} {f0(c['victim_exited_p50'])} / {f0(c['victim_exited_max'])}" for sy, c in ex)
              + ". A process's sockets are closed only as it exits, after its memory is torn down."]
    kd = {}
    for t in s["trials"]:
        if "error" in t:
            continue
        for k, v in t["failure_kinds"].items():
            key = (t["scenario"], t["system"])
            kd.setdefault(key, {})
            kd[key][k] = kd[key].get(k, 0) + v
    if kd:
        L += ["", "Failed attempts by kind (all trials, from the fault on): " + "; ".join(
            f"{sc}/{sy}: " + ", ".join(f"{k} {v}" for k, v in sorted(ks.items())) for (sc, sy), ks in sorted(kd.items()))]
    errs = [t for t in s["trials"] if "error" in t]
    if errs:
        L += ["", f"Trials that failed to run ({len(errs)}): " + "; ".join(
            f"{t['system']}/{t['scenario']}: {t['error'][:160]}" for t in errs)]
    sbs = [(t["system"], t["scenario"], w) for t in s["trials"] if "error" not in t for w in t["split_brain_windows"]]
    if sbs:
        L += ["", "Split-brain windows (system/scenario: vip, start ms after fault, length ms): " + "; ".join(
            f"{a}/{b}: {w[0]} @{w[1]:.0f} {w[2]:.0f}" for a, b, w in sbs[:20])]
    L += ["", "## Configurations", ""]
    for name, text in s["configs"].items():
        L += [f"### {name}", "", "```", text.strip(), "```", ""]
    return "\n".join(L)


def plot(s, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("takeover: matplotlib missing, no plot", file=sys.stderr)
        return
    scenarios = list(s["summary"])
    systems = [sy for sy in SYSTEMS if any(sy in s["summary"][sc] for sc in scenarios)]
    colors = {"tandem": "#d62728", "keepalived-1s": "#1f77b4", "keepalived-50ms": "#17becf",
              "tandem-bgp": "#ff7f0e", "tandem-bgp-anycast": "#8c564b"}
    fig, axes = plt.subplots(len(scenarios) + 1, 1, figsize=(12, 2.2 + 1.0 * len(systems) * (len(scenarios) + 1)),
                             squeeze=False)
    for ax, sc in zip(axes[:-1, 0], scenarios):
        xmax = 600
        for i, sy in enumerate(systems):
            rs = [t for t in s["trials"] if t["system"] == sy and t["scenario"] == sc and "error" not in t
                  and t["gap_ms"] is not None]
            if not rs:
                continue
            rep = sorted(rs, key=lambda t: t["gap_ms"])[(len(rs) - 1) // 2]  # the median trial
            xmax = max(xmax, rep["gap_ms"] + 400)
            ok = [a[0] for a in rep["attempts"] if a[2] == "ok"]
            bad = [a[0] for a in rep["attempts"] if a[2] != "ok"]
            ax.scatter(ok, [i] * len(ok), marker="|", color="#2ca02c", s=120, lw=1)
            ax.scatter(bad, [i] * len(bad), marker="|", color="#d62728", s=120, lw=1)
            ax.plot([rep["gap_ms"]], [i + 0.28], marker="v", color="k", ms=5)
            ax.annotate(f"{rep['gap_ms']:.0f} ms", (rep["gap_ms"], i + 0.3), fontsize=7, xytext=(4, 0),
                        textcoords="offset points")
            if rep.get("address_added_ms") is not None:
                ax.plot([rep["address_added_ms"]], [i - 0.28], marker="^", color=colors[sy], ms=5)
            if rep.get("client_arp_moved_ms") is not None:
                ax.plot([rep["client_arp_moved_ms"]], [i - 0.28], marker="D", color="#9467bd", ms=4)
            if sy.startswith("tandem") and rep.get("tandem"):
                for k, mk in (("link_lost_ms", "o"), ("declared_dead_ms", "s")):
                    if rep["tandem"].get(k) is not None:
                        ax.plot([rep["tandem"][k]], [i - 0.28], marker=mk, color="k", ms=4, mfc="none")
        ax.axvline(0, color="k", ls="--", lw=0.8)
        ax.set_yticks(range(len(systems)))
        ax.set_yticklabels(systems, fontsize=8)
        ax.set_ylim(-0.6, len(systems) - 0.4)
        ax.set_xlim(-300, xmax)
        ax.set_title(f"{SC_TITLE[sc]}: the median trial of each system", fontsize=9)
        ax.set_xlabel("ms from fault", fontsize=8)
    ax = axes[-1, 0]
    labels, p50, p99, cols = [], [], [], []
    for sc in scenarios:
        for sy in systems:
            c = s["summary"][sc].get(sy)
            if c and c["gap_p50"] is not None:
                labels.append(f"{sc}\n{sy}")
                p50.append(c["gap_p50"])
                p99.append(c["gap_p99"])
                cols.append(colors[sy])
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], p50, width=0.4, color=cols, alpha=0.55, label="p50")
    ax.bar([i + 0.2 for i in x], p99, width=0.4, color=cols, label="p99")
    ax.set_yscale("log")
    ax.set_ylim(bottom=20)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("client gap ms (log)", fontsize=8)
    ax.axhline(200, color="k", ls=":", lw=0.8)
    ax.axhline(500, color="k", ls=":", lw=0.8)
    ax.set_title("client gap p50 (light) / p99 (dark); dotted: the 200 ms (crash) and 500 ms (host loss) goals",
                 fontsize=8)
    fig.suptitle("Client attempts by start time (green ok, red failed). ▼ first success (its end), ▲ VIP added on the "
                 "survivor, ◆ client's ARP entry moved, ○ Tandem: peer link lost, □ Tandem: peer declared dead",
                 fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(out / "timeline.png", dpi=110)


# ---------------------------------------------------------------- main

def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    ver = lambda c: (subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
                     or subprocess.run(c, shell=True, capture_output=True, text=True).stderr.strip()).splitlines()[0]
    import platform
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(int(mem) / 1048576, 1),
            "kernel": platform.release(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "haproxy": ver("haproxy -v | head -1"), "keepalived": ver("keepalived --version 2>&1 | head -1"),
            "java": ver(f"{java()} -version 2>&1 | head -1")}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--client-loop":
        return client_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=10, help="trials per system and scenario (1..30)")
    ap.add_argument("--block", type=int, default=5, help="trials per system before switching to the next system")
    ap.add_argument("--systems", default=",".join(SYSTEMS[:3]),
                    help=f"from {','.join(SYSTEMS)} (the BGP ones need BIRD 2; not in the default set)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--interval", type=float, default=10, help="client: ms between connection attempts (2..50)")
    ap.add_argument("--out", default=str(ROOT / "perf" / "results" / "takeover-latest"))
    ap.add_argument("--merge", action="store_true", help="add these trials to the ones already in --out/results.json")
    ap.add_argument("--keep-logs", action="store_true", help="copy every process's output to --out/logs/")
    ap.add_argument("--max-minutes", type=float, default=25, help="stop starting new trials after this")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("takeover: needs root (network namespaces, ip addr, keepalived); run it with sudo")
    systems, scenarios = args.systems.split(","), args.scenarios.split(",")
    bad = [x for x in systems if x not in SYSTEMS] + [x for x in scenarios if x not in SCENARIOS]
    if bad:
        sys.exit(f"takeover: unknown {bad} (systems from {list(SYSTEMS)}, scenarios from {list(SCENARIOS)})")
    if not (1 <= args.trials <= 30 and 1 <= args.block <= 30 and 2 <= args.interval <= 50):
        sys.exit("takeover: bounds are trials 1..30, block 1..30, interval 2..50 ms")
    for tool in ("ip", "curl", "nginx") + (("keepalived", "haproxy") if any(s.startswith("keepalived") for s in systems) else ()):
        if not shutil.which(tool):
            sys.exit(f"takeover: needs {tool} (perf/takeover installs what is missing)")
    if any(x.startswith("tandem-bgp") for x in systems) and not (shutil.which("bird") or Path("/usr/sbin/bird").exists()):
        sys.exit("takeover: the tandem-bgp systems need BIRD 2 (apt-get install bird2)")
    if any(x.startswith("tandem") for x in systems) and not (ROOT / "lb-core/target/tandem.jar").exists():
        sys.exit("takeover: lb-core/target/tandem.jar missing (perf/takeover builds it)")

    global WORK
    WORK = Path(tempfile.mkdtemp(prefix="tandem-takeover-"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = mono()
    stop_requested = []
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    trials, configs = [], {}
    load0 = round(os.getloadavg()[0], 2)
    run_id = int(time.time())
    sweep()
    try:
        build_topology()
        monitors = {n: Monitor(n) for n in NODES}
        neigh = NeighMonitor()
        nconf = WORK / "backend.conf"
        nconf.write_text(f"""daemon off; master_process off; worker_processes 1; pid {WORK}/backend.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{ access_log off; server {{ listen {HOSTS['be']}:{BE_PORT}; location / {{ return 200 "ok\\n"; }} }} }}
""")
        Proc("backend", nsx("be", "nginx", "-c", str(nconf), "-p", str(WORK)))
        if any(x.startswith("tandem") for x in systems):
            zk = Proc("zookeeper", nsx("zk", java(), "-cp", str(ROOT / "perf/target/benchmarks.jar"),
                                       "io.tandem.perf.demo.ZooKeeperMain", HOSTS["zk"], str(ZK_PORT)))
            zk.wait_line("zookeeper ready", 60)
        rounds = -(-args.trials // args.block)
        done = {(sy, sc): 0 for sy in systems for sc in scenarios}
        for rnd in range(rounds):
            order = systems[rnd % len(systems):] + systems[:rnd % len(systems)]
            for sy in order:
                if all(done[(sy, sc)] >= args.trials for sc in scenarios):
                    continue
                if (mono() - started) / 60 > args.max_minutes:
                    stop_requested.append(True)
                    break
                target = min(args.trials, (rnd + 1) * args.block)
                for attempt in range(3):  # a pair that breaks is restarted fresh, at most twice per round
                    if all(done[(sy, sc)] >= target for sc in scenarios) or (mono() - started) / 60 > args.max_minutes:
                        break
                    system = (Tandem(f"{run_id}{rnd}{attempt}") if sy == "tandem"
                              else TandemBgp(f"{run_id}{rnd}{attempt}", sy == "tandem-bgp-anycast")
                              if sy.startswith("tandem-bgp") else Keepalived(sy))
                    configs[sy] = system.describe()
                    proc_events = []
                    log(f"round {rnd + 1}/{rounds}: starting {sy}" + (f" (again, attempt {attempt + 1})" if attempt else ""))
                    client = None
                    try:
                        system.start()
                        client = Client(args.interval, 15 * 60)
                        while any(done[(sy, sc)] < target for sc in scenarios):
                            for sc in scenarios:
                                if done[(sy, sc)] >= target or (mono() - started) / 60 > args.max_minutes:
                                    continue
                                t = time.time()
                                try:
                                    r = trial(system, sc, client, monitors, proc_events, neigh)
                                except Unsettled as u:
                                    trials.append(u.result)
                                    done[(sy, sc)] += 1
                                    raise RuntimeError("the pair did not settle after the restore")
                                except RuntimeError as e:
                                    trials.append({"system": sy, "scenario": sc, "error": str(e)})
                                    raise
                                done[(sy, sc)] += 1
                                trials.append(r)
                                tk = r.get("tandem") or {}
                                log(f"{sy:15s} {sc:6s} #{done[(sy, sc)]:2d} {r['victim']}->{r['survivor']} gap={r['gap_ms']} "
                                    f"ok->ok={r['gap_ok_to_ok_ms']} failed={r['failed']} later_failed={r['failed_after_recovery']} "
                                    f"added={r['address_added_ms']} arp={r['client_arp_moved_ms']} split={r['split_brain_max_ms']} "
                                    + (f"lost={tk.get('link_lost_ms')} dead={tk.get('declared_dead_ms')} "
                                       f"acq={tk.get('acquired_log_ms')} " if tk else
                                       f"master={r.get('keepalived_master_ms')} ")
                                    + f"kinds={r['failure_kinds']} load={r['load1']} ({time.time() - t:.0f} s)")
                            if (mono() - started) / 60 > args.max_minutes:
                                break
                    except RuntimeError as e:
                        log(f"{sy}: pair aborted: {str(e)[:1500]}")
                    finally:
                        if client:
                            client.proc.stop()
                        system.stop()
                        for n in NODES:
                            del_vips(n)
                            sh(["ip", "-n", ns(n), "link", "set", "eth0", "up"], check=False)
                if (mono() - started) / 60 > args.max_minutes:
                    stop_requested.append(True)
                    break
            if stop_requested:
                log(f"--max-minutes {args.max_minutes} reached; stopping")
                break
    except KeyboardInterrupt:
        log("interrupted; writing what was measured")
    finally:
        for p in list(LIVE):
            try:
                p.stop()
            except Exception:
                pass
        sweep()
    prev = {}
    if args.merge and (out / "results.json").exists():
        prev = json.loads((out / "results.json").read_text())
        trials = prev.get("trials", []) + trials
        configs = {**prev.get("configs", {}), **configs}
    all_systems = [sy for sy in SYSTEMS if any(t["system"] == sy for t in trials)]
    all_scen = [sc for sc in SCENARIOS if any(t["scenario"] == sc for t in trials)]
    summary = {"machine": machine(), "args": vars(args), "load_at_start": prev.get("load_at_start", []) + [load0],
               "load_at_end": prev.get("load_at_end", []) + [round(os.getloadavg()[0], 2)],
               "summary": summarise(trials, all_systems, all_scen), "configs": configs, "trials": trials}
    (out / "results.json").write_text(json.dumps(summary, separators=(",", ":")))  # compact: ~10k attempts
    report = render(summary)
    (out / "results.md").write_text(report)
    if trials:
        plot(summary, out)
    print(report)
    if args.keep_logs:
        shutil.rmtree(out / "logs", ignore_errors=True)
        shutil.copytree(WORK, out / "logs", ignore=shutil.ignore_patterns("run-*", "*.pid"))
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
