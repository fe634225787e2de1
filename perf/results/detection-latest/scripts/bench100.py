#!/usr/bin/env python3
"""Idle CPU of tandem with N backends (one selectors-based process answering TCP and HTTP): CPU ms/s per window."""
import os, selectors, socket, subprocess, sys, tempfile, threading, time
JAR, HC, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
BASE = int(os.environ.get("PORTBASE", "28000"))
JAVA = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
sel = selectors.DefaultSelector()
accepted = [0]
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
for i in range(N):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", BASE + 1 + i)); s.listen(1024); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "L")
def loop():
    while True:
        for key, _ in sel.select():
            if key.data == "L":
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                accepted[0] += 1
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, [b""])
            else:
                c = key.fileobj
                try:
                    d = c.recv(4096)
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(c); c.close(); continue
                key.data[0] += d
                if b"\r\n\r\n" in key.data[0]:
                    try: c.send(RESP)
                    except OSError: pass
                    sel.unregister(c); c.close()
threading.Thread(target=loop, daemon=True).start()
d = tempfile.mkdtemp(prefix="probe-s30-")
cfg = os.path.join(d, "t.yaml")
backs = ", ".join(f"127.0.0.1:{BASE+1+i}" for i in range(N))
open(cfg, "w").write(f"""runtime:
  drain_timeout: 0s
admin:
  listen: 127.0.0.1:{BASE-1}
vips:
  - name: idle
    listen: 127.0.0.1:{BASE-2}
    backends: [{backs}]
    health_check: {HC}
""")
if JAR == "haproxy":
    # HC here: "inter,timeout,fastinter,type"
    inter, tmo, fast, typ = HC.split(",")
    hcfg = os.path.join(d, "h.cfg")
    servers = "\n".join(f"    server s{i} 127.0.0.1:{BASE+1+i} check inter {inter} fastinter {fast} downinter 500 fall 2 rise 2" for i in range(N))
    open(hcfg, "w").write(f"""global
    spread-checks 10
defaults
    mode tcp
    timeout connect {tmo}ms
    timeout client 30s
    timeout server 30s
    timeout check {tmo}ms
listen idle
    bind 127.0.0.1:{BASE-3}
""" + ("    option httpchk GET /\n" if typ == "http" else "") + servers + "\n")
    p = subprocess.Popen(["haproxy", "-db", "-f", hcfg], stdout=open(os.path.join(d, "out.log"), "w"), stderr=subprocess.STDOUT)
flags = "-XX:+UseG1GC -XX:+UseCompactObjectHeaders -XX:+UseTransparentHugePages".split()
if JAR != "haproxy": p = subprocess.Popen([JAVA, *flags, "--enable-native-access=ALL-UNNAMED", "-jar", JAR, "run", "--no-watch", "--config", cfg],
                     stdout=open(os.path.join(d, "out.log"), "w"), stderr=subprocess.STDOUT)
def cpu():
    f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
try:
    edges = [float(x) for x in os.environ.get("EDGES", "2,12,60,120,180").split(",")]
    t0 = time.time(); prev = None
    for e in edges:
        while time.time() - t0 < e: time.sleep(0.05)
        now = (cpu(), accepted[0], time.time())
        if prev:
            dc, da, dt = now[0]-prev[0], now[1]-prev[1], now[2]-prev[2]
            print(f"{os.path.basename(JAR)} N={N} hc={HC} window={prev[2]-t0:.0f}-{now[2]-t0:.0f}s cpu_ms_per_s={dc*1000/dt:.1f} "
                  f"probes_per_s_per_backend={da/dt/N:.2f} cpu_ms_per_probe={dc*1000/max(1,da):.3f} "
                  f"load={open('/proc/loadavg').read().split()[:3]}", flush=True)
        prev = now
finally:
    p.terminate()
    try: p.wait(10)
    except Exception: p.kill()
