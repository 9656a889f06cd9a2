#!/usr/bin/env bash
# bench/before-after.sh: two Overcast binaries through the shared harness (../shared/bench),
# alternating round by round, so a change's cost shows as a ratio measured in one sitting.
#
#   BEFORE=/tmp/overcast-old AFTER=target/release/overcast bench/before-after.sh
#   REPS=3 T=5 PARTS="tap hub" TESTS="ping tcp udp64 udpfix" ...   (harness knobs pass through)
#
# Each round runs the harness once per binary (bridge included each time, as the reference),
# in alternating order. Prints, per part and metric, the median before, after, and after/before,
# and the same medians as ratios to the bridge of the same harness run. Run as root, quietly.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS:-$repo/../shared/bench}
: "${BEFORE:?set BEFORE to the old binary}" "${AFTER:?set AFTER to the new binary}"
export T=${T:-5} TESTS=${TESTS:-ping tcp udp64 udpfix}
reps=${REPS:-3}
parts=${PARTS:-tap hub}
work=$(mktemp -d /tmp/overcast-before-after.XXXXXX)
"$harness/deps.sh"

run_one() { # run_one PART LABEL BIN ROUND
  local part=$1 label=$2 bin=$3 round=$4 raw="$work/$1-$2-$4.tsv"
  local run="$bin run --no-control"
  export CUSTOM_NAME=overcast
  case $part in
    tap) CUSTOM_CMD="$run {EACH:--tap %}" REPS=1 RAW=$raw "$harness/measure.sh" custom-tap > /dev/null ;;
    hub) CUSTOM_UDP_CMD="$run --config $repo/bench/hub.toml {EACH_PEER:--peer vxlan://%:4789}" CUSTOM_CLIENT=vxlan \
           REPS=1 RAW=$raw "$harness/measure.sh" custom-udp > /dev/null ;;
  esac || true
  grep -v '^#' "$raw" | awk -F'\t' -v l="$label" '{ print l "\t" $2 "\t" $3 "\t" $4 }' >> "$work/$part.all"
}

for part in $parts; do
  for ((r = 1; r <= reps; r++)); do
    if ((r % 2)); then order="before after"; else order="after before"; fi
    for label in $order; do
      bin=$BEFORE; [[ $label == after ]] && bin=$AFTER
      echo "== $part round $r/$reps: $label" >&2
      run_one "$part" "$label" "$bin" "$r"
    done
  done
done

python3 - "$work" $parts <<'PY'
import sys, statistics, collections
work, parts = sys.argv[1], sys.argv[2:]
keep = ("rtt_avg_us", "tcp_gbps", "tcp_sw_cpu_s_per_gb", "udp64_rx_kpps", "udp64_loss_pct",
        "udp64_sw_us_per_pkt", "udpfix_sw_us_per_pkt", "udpfix_loss_pct")
for part in parts:
    vals = collections.defaultdict(list)
    for line in open(f"{work}/{part}.all"):
        label, peer, metric, value = line.rstrip("\n").split("\t")
        try:
            vals[(label, peer.startswith("custom") and "overcast" or peer, metric)].append(float(value))
        except ValueError:
            pass
    med = lambda k: statistics.median(vals[k]) if vals.get(k) else None
    print(f"\n{part}: median of the rounds (bridge measured in each harness run)\n")
    print("| metric | before | after | after/before | before x bridge | after x bridge |")
    print("|---|---|---|---|---|---|")
    for m in keep:
        b, a = med(("before", "overcast", m)), med(("after", "overcast", m))
        bb, ab = med(("before", "bridge", m)), med(("after", "bridge", m))
        if b is None or a is None:
            continue
        f = lambda x: "-" if x is None else f"{x:.3g}"
        r = lambda x, y: "-" if not x or y is None else f"{y / x:.2f}"
        print(f"| {m} | {f(b)} | {f(a)} | {r(b, a)} | {r(bb, b)} | {r(ab, a)} |")
PY
echo "raw data: $work" >&2
