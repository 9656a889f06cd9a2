#!/usr/bin/env bash
# bench/workers.sh: what a second switching worker buys, on this machine.
# For each worker count, TCP (iperf3, T seconds) through Overcast:
#   tap-1   one stream between two namespaces on TAPs
#   tap-2   two streams at once (a->b, c->d), summed
#   hub-1   one stream between two kernel vxlan clients through the hub
#   hub-2   both directions at once, summed
# plus the switch's CPU per GB in each. Run as root on a quiet machine:
#   bench/workers.sh                 # WORKERS="1 2" T=5 REPS=3
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$repo/target/release/overcast}
T=${T:-5} REPS=${REPS:-3} WORKERS=${WORKERS:-1 2}
[[ -x $bin ]] || (cd "$repo" && cargo build --release --quiet)
p=ocw$$
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$p" || true); do ip netns del "$ns"; done
}
trap cleanup EXIT

gbps() { python3 -c 'import json,sys; print(sum(json.load(open(f))["end"]["sum_received"]["bytes"] for f in sys.argv[1:])*8/1e9/'"$T"')' "$@"; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# per_gb CPU_BEFORE CPU_AFTER GBITS: switch CPU seconds per GB carried
per_gb() { awk -v a="$1" -v b="$2" -v g="$3" -v t="$T" 'BEGIN { printf "%.2f", (b - a) / (g * t / 8) }'; }
# stream NAME_OF_RESULT CLIENT_NS SERVER_IP [CLIENT_NS SERVER_IP]: iperf3 streams at once; prints Gbit/s
streams() {
  local files=() clients=() i=0
  while (($#)); do
    ip netns exec "$1" iperf3 -c "$2" -t "$T" -J > "/tmp/$p.$i.json" &
    clients+=($!); files+=("/tmp/$p.$i.json"); shift 2; i=$((i + 1))
  done
  wait "${clients[@]}"
  gbps "${files[@]}"
}
serve() { for ns in "$@"; do ip netns exec "$ns" iperf3 -s -D -1 > /dev/null; done; sleep 0.3; }
# measure PATH WORKERS PID CLIENT1 SERVER1 IP1 CLIENT2 SERVER2 IP2: stream 1 alone, then 1 and 2 at
# once; prints one result line and stops the switch PID.
measure() {
  local c0 one c1 two c2
  c0=$(cpu_s "$3"); serve "$5"; one=$(streams "$4" "$6"); c1=$(cpu_s "$3")
  serve "$5" "$8"; two=$(streams "$4" "$6" "$7" "$9"); c2=$(cpu_s "$3")
  echo "$1 $2 $one $(per_gb "$c0" "$c1" "$one") $two $(per_gb "$c1" "$c2" "$two")"
  kill "$3"; wait "$3" 2> /dev/null || true
}

tap_round() { # tap_round WORKERS
  local n pid i=1
  for n in s a b c d; do ip netns add "$p$n"; ip -n "$p$n" link set lo up; done
  ip netns exec "${p}s" "$bin" run --no-control --workers "$1" --tap "${p}a" --tap "${p}b" --tap "${p}c" --tap "${p}d" > "/tmp/$p.log" 2>&1 &
  pid=$!; pids+=("$pid"); sleep 1
  for n in a b c d; do
    ip -n "${p}s" link set "$p$n" netns "$p$n"
    ip -n "$p$n" addr add "10.57.0.$i/24" dev "$p$n"; ip -n "$p$n" link set "$p$n" up; i=$((i + 1))
  done
  ip netns exec "${p}a" ping -c1 -W3 10.57.0.2 > /dev/null; ip netns exec "${p}c" ping -c1 -W3 10.57.0.4 > /dev/null
  measure tap "$1" "$pid" "${p}a" "${p}b" 10.57.0.2 "${p}c" "${p}d" 10.57.0.4
  for n in s a b c d; do ip netns del "$p$n"; done
}

hub_round() { # hub_round WORKERS
  local n pid
  ip netns add "${p}u"; ip -n "${p}u" link add br0 type bridge; ip -n "${p}u" link set br0 up
  for n in h 1 2; do
    ip netns add "$p$n"; ip -n "$p$n" link set lo up
    ip link add "${p}v$n" type veth peer name ul0 netns "$p$n"
    ip link set "${p}v$n" netns "${p}u"; ip -n "${p}u" link set "${p}v$n" master br0 up
    ip -n "$p$n" link set ul0 up
  done
  ip -n "${p}h" addr add 10.58.0.254/24 dev ul0
  ip netns exec "${p}h" "$bin" run --no-control --workers "$1" > "/tmp/$p.log" 2>&1 &
  pid=$!; pids+=("$pid"); sleep 1
  for n in 1 2; do
    ip -n "$p$n" addr add "10.58.0.$n/24" dev ul0
    ip -n "$p$n" link add vx0 type vxlan id 42 remote 10.58.0.254 local "10.58.0.$n" dev ul0 dstport 4789 srcport 4789 4790
    # Between namespaces the inner checksum stays partial unless the client computes it.
    ip netns exec "$p$n" ethtool -K vx0 tx off > /dev/null
    ip -n "$p$n" addr add "10.59.0.$n/24" dev vx0; ip -n "$p$n" link set vx0 up
  done
  sleep 0.5
  ip netns exec "${p}1" ping -c1 -W3 10.59.0.2 > /dev/null; ip netns exec "${p}2" ping -c1 -W3 10.59.0.1 > /dev/null
  measure hub "$1" "$pid" "${p}1" "${p}2" 10.59.0.2 "${p}2" "${p}1" 10.59.0.1
  for n in u h 1 2; do ip netns del "$p$n"; done
}

raw=$(mktemp)
for ((r = 1; r <= REPS; r++)); do
  for w in $WORKERS; do
    tap_round "$w" | tee -a "$raw" >&2
    hub_round "$w" | tee -a "$raw" >&2
  done
done
echo "| path | workers | one stream Gbit/s | switch CPU s/GB | two streams Gbit/s (sum) | switch CPU s/GB |"
echo "|---|---|---|---|---|---|"
python3 - "$raw" << 'EOF'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    path, w, *vals = line.split()
    rows.setdefault((path, int(w)), []).append([float(v) for v in vals])
for (path, w), runs in sorted(rows.items()):
    med = [st.median(col) for col in zip(*runs)]
    print(f"| {path} | {w} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.2f} | {med[3]:.2f} |")
EOF
echo
echo "Median of $REPS rounds, T=${T}s, $(nproc) CPUs, kernel $(uname -r), $(date -u +%F)."
