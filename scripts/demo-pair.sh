#!/usr/bin/env bash
# A Tandem HA pair failing over, on this machine (Linux, root): two nodes in network namespaces
# share two VIP addresses through ZooKeeper; a client fetches from VIP 198.18.1.10 every 100 ms;
# the owner of that VIP is killed with SIGKILL and the survivor takes the address over.
#   sudo scripts/demo-pair.sh
# Everything lives in namespaces named tdemo-* (addresses from 198.18.0.0/15, no default route)
# and is removed on exit, also on Ctrl-C.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $EUID -eq 0 ]] || { echo "demo-pair: needs root (network namespaces, ip addr)" >&2; exit 3; }
command -v ip >/dev/null || { echo "demo-pair: needs iproute2" >&2; exit 3; }
command -v curl >/dev/null || { echo "demo-pair: needs curl" >&2; exit 3; }
source "$here/scripts/find-jdk.sh"
JAVA="$(tandem_find_java)"
export JAVA_HOME="$(dirname "$(dirname "$JAVA")")"
(cd "$here" && ./mvnw -q -B -DskipTests -pl lb-core,perf -am package)

P=tdemo
work="$(mktemp -d /tmp/tandem-demo-pair-XXXX)"
pids=()
sweep() {
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do ip netns delete "$ns" 2>/dev/null || true; done
}
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # Children of the background jobs, found by the paths and arguments only this demo uses.
  pkill -9 -f "$work" 2>/dev/null || true
  pkill -9 -f "io.tandem.perf.demo.ZooKeeperMain 198.18.0.20" 2>/dev/null || true
  sweep
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
sweep  # leftovers of an earlier run

ip netns add $P-br
ip -n $P-br link add br0 type bridge
ip -n $P-br link set br0 up
host() { # name address
  ip netns add "$P-$1"
  ip -n $P-br link add "$1" type veth peer name eth0 netns "$P-$1"
  ip -n $P-br link set "$1" master br0
  ip -n $P-br link set "$1" up
  ip -n "$P-$1" addr add "$2/16" dev eth0
  ip -n "$P-$1" link set eth0 up
  ip -n "$P-$1" link set lo up
}
host lb1 198.18.0.1
host lb2 198.18.0.2
host be 198.18.0.20
host client 198.18.0.100
nsx() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

echo "== ZooKeeper and a backend in namespace $P-be"
ip netns exec "$P-be" "$JAVA" -cp "$here/perf/target/benchmarks.jar" io.tandem.perf.demo.ZooKeeperMain 198.18.0.20 2181 \
  > "$work/zk.log" 2>&1 &
pids+=($!)
mkdir -p "$work/www" && echo "hello from the backend behind the pair" > "$work/www/index.html"
ip netns exec "$P-be" /usr/bin/python3 -m http.server 8000 --bind 198.18.0.20 --directory "$work/www" > "$work/be.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "zookeeper ready" "$work/zk.log" && break; sleep 0.2; done

node_config() { # self peer self_ip peer_ip
  cat <<YAML
admin: {listen: 127.0.0.1:9090}
ha:
  node_id: $1
  cluster: demo
  listen: $3:7946
  peers: [{id: $2, address: $4:7946}]
  zookeeper: {connect: "198.18.0.20:2181"}
  interface: eth0
  addresses:
    - {address: 198.18.1.10, preferred_owner: lb1}
    - {address: 198.18.1.11, preferred_owner: lb2}
vips:
  - {name: web10, listen: "198.18.1.10:80", backends: ["198.18.0.20:8000"]}
  - {name: web11, listen: "198.18.1.11:80", backends: ["198.18.0.20:8000"]}
YAML
}
node_config lb1 lb2 198.18.0.1 198.18.0.2 > "$work/lb1.yaml"
node_config lb2 lb1 198.18.0.2 198.18.0.1 > "$work/lb2.yaml"
echo "== two Tandem nodes in $P-lb1 and $P-lb2"
ip netns exec "$P-lb1" env TANDEM_SKIP_BUILD=1 "$here/tandem" run --no-watch --node-name lb1 --config "$work/lb1.yaml" > "$work/lb1.log" 2>&1 &
lb1=$!; pids+=($lb1)
ip netns exec "$P-lb2" env TANDEM_SKIP_BUILD=1 "$here/tandem" run --no-watch --node-name lb2 --config "$work/lb2.yaml" > "$work/lb2.log" 2>&1 &
pids+=($!)

owner_of() { # vip -> the nodes whose interface has it: lb1, lb2, lb1+lb2 or none
  local held=()
  for n in lb1 lb2; do
    if nsx "$n" ip -o addr show dev eth0 | grep -q " $1/"; then held+=("$n"); fi
  done
  local IFS=+; echo "${held[*]:-none}"
}
for _ in $(seq 150); do
  [[ "$(owner_of 198.18.1.10)" == lb1 && "$(owner_of 198.18.1.11)" == lb2 ]] && break; sleep 0.2
done
echo "   198.18.1.10 owned by $(owner_of 198.18.1.10), 198.18.1.11 by $(owner_of 198.18.1.11)"

echo "== a client in $P-client fetches http://198.18.1.10/ every 100 ms"
ip netns exec "$P-client" bash -c 'for i in $(seq 120); do
    t=$(date +%s.%N); if curl -s -m 1 -o /dev/null -w "%{http_code}" http://198.18.1.10/ | grep -q 200;
    then echo "$t ok"; else echo "$t FAIL"; fi; sleep 0.1; done' > "$work/client.log" 2>&1 &
client=$!; pids+=($client)
sleep 3
kill_at=$(date +%s.%N)
echo "== kill -9 lb1 (the owner of 198.18.1.10) at $(date +%T.%N | cut -c1-12)"
kill -9 "$lb1"
for _ in $(seq 100); do [[ "$(owner_of 198.18.1.10)" == *lb2* ]] && break; sleep 0.05; done
echo "   198.18.1.10 now on: $(owner_of 198.18.1.10) (a SIGKILLed process cannot remove its address: lb1's"
echo "   namespace keeps it until a restart sweeps it; lb2's gratuitous ARPs moved the client)"
wait "$client" || true
echo "== what the client saw"
awk -v k="$kill_at" '
  $2=="ok" && $1<k {last_ok_before=$1}
  $2=="ok" && $1>k && !first_after {first_after=$1}
  $2=="FAIL" {fails++}
  END { printf "   requests failed: %d; gap between the last success before the kill and the first after: %.0f ms\n",
        fails, (first_after-last_ok_before)*1000 }' "$work/client.log"
echo "== lb2's view (GET /api/ha)"
nsx lb2 curl -s 127.0.0.1:9090/api/ha | head -c 1200; echo
grep -h "vip address acquired\|peer declared dead" "$work/lb2.log" | sed 's/^/   /' | tail -4
