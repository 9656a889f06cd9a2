#!/usr/bin/env bash
# Record a golden replay scenario from real kernel hosts, through Overcast's
# live capture. Needs root, /dev/net/tun and iproute2.
#
#   pcaps/record.sh NAME HOSTS SCRIPT
#
#   NAME    the scenario: written to pcaps/NAME/ (refused if it exists, unless FORCE=1)
#   HOSTS   number of hosts, 1 to 9: namespaces on TAP ports p1..pN with
#           addresses 10.77.0.1/24 .. 10.77.0.N/24
#   SCRIPT  shell file sourced once the hosts are up. It sees $IP1..$IPn,
#           $TOOLS (tests/tools: mcast.py joins and sends multicast) and the
#           helper `on N CMD...`, which runs CMD in host N's namespace, where
#           the host's interface is pN. It runs in a subshell: commands put in
#           the background (`on N CMD &`) can be waited for with a plain `wait`,
#           and are waited for anyway when the script ends.
#           It is copied into the scenario as traffic.sh, for the record.
#
# Each host has IPv4 multicast (224.0.0.0/4) routed out of its interface, so
# it can send to a group without naming the interface.
#
# Environment:
#   OVERCAST  the binary (default: target/release/overcast, else target/debug/overcast)
#   CONFIG    a config.toml for the switch; copied into the scenario and used by the replay.
#             A [[tap]] it names pN (with a vlan_mode, say) is taken from it, not added as --tap.
#   NO_IPV6=1 turn IPv6 off in the hosts (no ND/MLD chatter)
#   UNTIL     written to scenario.toml as `until` (e.g. "400s")
#   STATE_AT  written to scenario.toml as `state_at`: one time or several,
#             separated by spaces (e.g. "1s" or "2s 6500ms")
#   SETTLE    seconds to wait after SCRIPT before stopping the switch (default 1)
#
# Then write the goldens with:
#   OVERCAST_BLESS=1 cargo test --test pcap_scenarios
set -euo pipefail

name=${1:?usage: pcaps/record.sh NAME HOSTS SCRIPT}
hosts=${2:?usage: pcaps/record.sh NAME HOSTS SCRIPT}
script=${3:?usage: pcaps/record.sh NAME HOSTS SCRIPT}
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/$name"
[[ $hosts =~ ^[1-9]$ ]] || { echo "HOSTS must be 1 to 9" >&2; exit 2; }
[[ -f $script ]] || { echo "no script $script" >&2; exit 2; }
if [[ -e $dest && ${FORCE:-0} != 1 ]]; then
  echo "$dest exists (FORCE=1 to replace it)" >&2
  exit 2
fi
bin=${OVERCAST:-}
if [[ -z $bin ]]; then
  for b in "$here/../target/release/overcast" "$here/../target/debug/overcast"; do
    [[ -x $b ]] && { bin=$b; break; }
  done
fi
[[ -n $bin && -x $bin ]] || { echo "no overcast binary: build it or set OVERCAST" >&2; exit 2; }

tag="ocrec$$"
sw="${tag}s"
work=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  for i in $(seq 1 "$hosts"); do ip netns del "${tag}h$i" 2>/dev/null || true; done
  ip netns del "$sw" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$sw"
# The TAPs start life in the switch's namespace, whose kernel would announce
# them (IPv6 DAD, MLD) before they move to their hosts: not the hosts' traffic.
ip netns exec "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
args=(run --no-control --capture "$work/cap")
if [[ -n ${CONFIG:-} ]]; then args+=(--config "$CONFIG"); fi
# Ports the config names (with VLAN modes, say) come from the config.
for i in $(seq 1 "$hosts"); do
  if [[ -n ${CONFIG:-} ]] && grep -q "^name = \"p$i\"" "$CONFIG"; then continue; fi
  args+=(--tap "p$i")
done
ip netns exec "$sw" "$bin" "${args[@]}" 2>"$work/overcast.log" &
pid=$!

for i in $(seq 1 "$hosts"); do
  h="${tag}h$i"
  ip netns add "$h"
  ip -n "$h" link set lo up
  if [[ ${NO_IPV6:-0} == 1 ]]; then
    ip netns exec "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  fi
  for _ in $(seq 100); do ip -n "$sw" link show "p$i" >/dev/null 2>&1 && break; sleep 0.1; done
  ip -n "$sw" link set "p$i" netns "$h"
  ip -n "$h" addr add "10.77.0.$i/24" dev "p$i"
  ip -n "$h" link set "p$i" up
  ip -n "$h" route add 224.0.0.0/4 dev "p$i"
  declare "IP$i=10.77.0.$i"
  export "IP$i"
done
on() { local n=$1; shift; ip netns exec "${tag}h$n" "$@"; }
TOOLS=$(cd "$here/../tests/tools" && pwd)

# shellcheck source=/dev/null
(source "$script"; wait)
sleep "${SETTLE:-1}"

kill -TERM "$pid"
wait "$pid" || true
pid=""

rm -rf "$dest"
mkdir -p "$dest"
inputs=()
for f in "$work"/cap/*.in.pcap; do
  file=$(basename "$f")
  [[ $file =~ \.in\.[0-9]+\.pcap$ ]] && { echo "capture rotated; raise --capture-max-bytes" >&2; exit 1; }
  cp "$f" "$dest/$file"
  inputs+=("\"${file%.in.pcap}=$file\"")
done
cp "$script" "$dest/traffic.sh"
if [[ -n ${CONFIG:-} ]]; then cp "$CONFIG" "$dest/config.toml"; fi
{
  echo "# Recorded by pcaps/record.sh from $hosts kernel hosts on TAP ports; traffic: traffic.sh."
  echo "inputs = [$(IFS=,; echo "${inputs[*]}" | sed 's/,/, /g')]"
  if [[ -n ${UNTIL:-} ]]; then echo "until = \"$UNTIL\""; fi
  if [[ -n ${STATE_AT:-} ]]; then
    read -ra times <<<"$STATE_AT"
    printf 'state_at = [%s]\n' "$(printf '"%s", ' "${times[@]}" | sed 's/, $//')"
  fi
} >"$dest/scenario.toml"
echo "recorded $dest:"
ls -l "$dest"
echo "now write its goldens: OVERCAST_BLESS=1 cargo test --test pcap_scenarios"
