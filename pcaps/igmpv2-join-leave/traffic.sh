# IGMPv2 join and leave. All three hosts are forced to IGMPv2; Overcast is
# the querier (IGMPv2, from 10.77.0.254). Hosts 1 and 2 join 239.1.1.1 at
# about 0 s (unsolicited v2 Reports); host 3 sends to the group five times a
# second from about 1 s to 9 s. At about 4 s host 1 drops its membership: its
# kernel sends a v2 Leave to 224.0.0.2. Overcast answers with Last Member
# Query Count (2) group-specific queries 500 ms apart and, with no Report in
# reply, removes p1 from the group one Last Member Query Time (1 s) after the
# Leave: host 3's datagrams stop going to p1 and keep going to p2.
# Host 2 leaves at about 10 s, when its socket closes: after `until`, not replayed.
#
# Recorded with (as root):
#   CONFIG=config.toml NO_IPV6=1 UNTIL=9s STATE_AT="3s 4750ms" pcaps/record.sh igmpv2-join-leave 3 traffic.sh
for h in 1 2 3; do on "$h" sysctl -qw "net.ipv4.conf.p$h.force_igmp_version=2"; done
on 1 python3 "$TOOLS/mcast.py" recv 239.1.1.1 5000 9 --iface p1 --leave-after 4 &
on 2 python3 "$TOOLS/mcast.py" recv 239.1.1.1 5000 10 --iface p2 &
sleep 1
on 3 python3 "$TOOLS/mcast.py" send 239.1.1.1 5000 40 --interval 0.2
wait
