#!/usr/bin/env python3
"""Idle CPU of tandem: start 2 backends (HTTP answering), tandem with a given health_check, wait warmup, measure utime+stime over window."""
import os, socket, subprocess, sys, threading, time, tempfile
JAR = sys.argv[1]; HC = sys.argv[2]; WINDOW = float(sys.argv[3]) if len(sys.argv) > 3 else 10
EXTRA = sys.argv[4].split() if len(sys.argv) > 4 and sys.argv[4] else []
BASE = int(os.environ.get("PORTBASE", "26800"))
JAVA = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
accepted = [0]
def backend(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", port)); s.listen(512)
    def serve(c):
        try:
            pass
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d: break
                data += d
            if data:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except Exception: pass
        finally: c.close()
    while True:
        c, _ = s.accept(); accepted[0] += 1
        threading.Thread(target=serve, args=(c,), daemon=True).start()
for p in (BASE + 1, BASE + 2):
    threading.Thread(target=backend, args=(p,), daemon=True).start()
d = tempfile.mkdtemp(prefix="probe-s30-")
cfg = os.path.join(d, "t.yaml")
hc = "" if HC == "none" else f"    health_check: {HC}\n"
open(cfg, "w").write(f"""runtime:
  drain_timeout: 0s
admin:
  listen: 127.0.0.1:{BASE+91}
vips:
  - name: idle
    listen: 127.0.0.1:{BASE+11}
    backends: [127.0.0.1:{BASE+1}, 127.0.0.1:{BASE+2}]
{hc}""")
flags = "-XX:+UseG1GC -XX:+UseCompactObjectHeaders -XX:+UseTransparentHugePages".split()
p = subprocess.Popen([JAVA, *flags, *EXTRA, "--enable-native-access=ALL-UNNAMED", "-jar", JAR, "run", "--no-watch", "--config", cfg],
                     stdout=open(os.path.join(d, "out.log"), "w"), stderr=subprocess.STDOUT)
def cpu():
    f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
try:
    edges = [float(x) for x in os.environ.get("EDGES", "2,12,60,120,180").split(",")]
    t_start = time.time()
    prev = None
    for e in edges:
        while time.time() - t_start < e:
            time.sleep(0.05)
        now = (cpu(), accepted[0], time.time())
        if prev:
            dc, da, dt = now[0]-prev[0], now[1]-prev[1], now[2]-prev[2]
            print(f"{os.path.basename(JAR)} hc={HC} window={prev[2]-t_start:.0f}-{now[2]-t_start:.0f}s cpu_ms_per_s={dc*1000/dt:.1f} "
                  f"accepted_per_s_per_backend={da/dt/2:.2f} cpu_ms_per_probe={dc*1000/max(1,da):.2f} "
                  f"load={open('/proc/loadavg').read().split()[:3]}", flush=True)
        prev = now
    if os.environ.get("HOLD"): time.sleep(float(os.environ["HOLD"]))
finally:
    p.terminate()
    try: p.wait(10)
    except Exception: p.kill()
