# IGMPv3 source filters (RFC 3376 INCLUDE and EXCLUDE modes). Host 1 joins
# 239.2.2.2 from host 3 only (INCLUDE {10.77.0.3}), host 2 from host 4 only
# (INCLUDE {10.77.0.4}), host 5 from any source (EXCLUDE {}). From about
# 1.5 s host 3 sends ten datagrams to the group, then host 4 ten more.
# Each member's port gets only what its filter allows: host 3's datagrams go
# to p1 and p5, host 4's to p2 and p5; nothing goes back to a sender.
# The members leave at about 6 s, when their sockets close: after `until`,
# not replayed.
#
# Recorded with (as root):
#   CONFIG=config.toml NO_IPV6=1 UNTIL=5s pcaps/record.sh igmpv3-include-exclude 5 traffic.sh
on 1 python3 "$TOOLS/mcast.py" recv 239.2.2.2 5000 6 --iface p1 --source "$IP3" &
on 2 python3 "$TOOLS/mcast.py" recv 239.2.2.2 5000 6 --iface p2 --source "$IP4" &
on 5 python3 "$TOOLS/mcast.py" recv 239.2.2.2 5000 6 --iface p5 &
sleep 1.5
on 3 python3 "$TOOLS/mcast.py" send 239.2.2.2 5000 10 --interval 0.1
on 4 python3 "$TOOLS/mcast.py" send 239.2.2.2 5000 10 --interval 0.1
wait
