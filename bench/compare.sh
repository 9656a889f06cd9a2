#!/usr/bin/env bash
# bench/compare.sh: Overcast beside its peers, in the same interleaved rounds, through the
# shared harness (../shared/bench). Builds the release binary, runs the harness with
# Overcast plugged into its two hooks, and writes the tables to docs/BENCHMARKS.md.
#
#   bench/compare.sh                 # everything: TAP peers, then hub peers (kernel vxlan clients),
#                                    # then hub peers with overcast edges as clients
#   REPS=3 T=5 bench/compare.sh      # harness knobs pass through (REPS, T, TESTS, ...)
#   PARTS="tap" bench/compare.sh     # only some parts: tap, hub, edge
#
# Run as root on a quiet machine: the harness waits while cargo/rustc run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS:-$repo/../shared/bench}
[[ -x $harness/measure.sh ]] || { echo "no harness at $harness (set HARNESS)" >&2; exit 1; }
out=${OUT:-$repo/docs/BENCHMARKS.md}
parts=${PARTS:-tap hub edge}
export REPS=${REPS:-3} T=${T:-5}

(cd "$repo" && cargo build --release --quiet)
bin=$repo/target/release/overcast
"$harness/deps.sh"

# Peers that are installed, beside the must-have ones.
optional_udp=""
command -v tincd > /dev/null && optional_udp+=" tinc"
command -v edge > /dev/null && optional_udp+=" n2n"
[[ -x /opt/vpncloud-2.3.0/bin/vpncloud ]] && optional_udp+=" vpncloud"
[[ -x /opt/n2n-3.1.1/sbin/edge ]] && optional_udp+=" n2n3"

run_part() { # run_part NAME PEERS...
  local name=$1; shift
  local file; file=/tmp/overcast-bench-$name-$(date +%Y%m%d-%H%M%S).tsv
  echo "== $name: $* (REPS=$REPS T=$T)" >&2
  RAW=$file "$harness/measure.sh" "$@" > "/tmp/overcast-bench-$name.report" || true
  echo "$file" > "/tmp/overcast-bench-$name.raw"
}

export CUSTOM_NAME=overcast
for part in $parts; do
  case $part in
    tap)
      export CUSTOM_CMD="$bin run --no-control {EACH:--tap %}"
      run_part tap bridge ovs-netdev-tso ovs-netdev vde custom-tap ;;
    hub)
      # Kernel VTEPs say nothing until they have traffic, so the hub is told
      # where they are (static peers), as an operator would for silent VMs.
      export CUSTOM_UDP_CMD="$bin run --no-control --config $repo/bench/hub.toml {EACH_PEER:--peer vxlan://%:4789}"
      export CUSTOM_CLIENT=vxlan
      run_part hub bridge vxlan $optional_udp custom-udp ;;
    edge)
      export CUSTOM_UDP_CMD="$bin run --no-control --config $repo/bench/hub.toml"
      export CUSTOM_CLIENT=cmd
      export CUSTOM_CLIENT_CMD="$bin run --no-control --tap {IF} --peer raw://{HUB_IP}:4800"
      run_part edge bridge vxlan custom-udp ;;
  esac
done

{
  echo "# Benchmarks: Overcast beside its peers"
  echo
  echo "Produced by \`bench/compare.sh\` (REPS=$REPS, T=$T) on $(date -u +%F), kernel $(uname -r), $(nproc) CPUs."
  echo "Every figure is the median of $REPS interleaved rounds; **xR** is the median ratio to the Linux"
  echo "bridge measured in the same round. The peer labelled \`custom-tap\` / \`custom-udp\` is Overcast;"
  echo "see \`../shared/bench/RESULTS.md\` for how each peer is set up and what each metric means."
  # Every part measured (this run or an earlier one), so a part can be re-run alone.
  for part in tap hub edge; do
    [[ -s /tmp/overcast-bench-$part.report ]] || continue
    echo
    case $part in
      tap) echo "## TAP ports: 5 namespaces on TAPs (\`$CUSTOM_NAME\` = \`overcast run {EACH:--tap %}\`)" ;;
      hub) echo "## Overlay hub, kernel vxlan clients (\`overcast run --config bench/hub.toml\`)" ;;
      edge) echo "## Overlay hub, overcast edges as clients (\`overcast run --tap IF --peer raw://HUB:4800\`)" ;;
    esac
    echo
    grep -v '^\[' "/tmp/overcast-bench-$part.report" 2>/dev/null || echo "(no report)"
    echo
    echo "Raw data: \`$(cat "/tmp/overcast-bench-$part.raw" 2>/dev/null || echo none)\`"
  done
} > "$out"
echo "wrote $out" >&2
