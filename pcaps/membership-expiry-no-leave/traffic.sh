# A member that goes silent without leaving: its membership ages out one
# Group Membership Interval after its last report (RFC 3376 8.4). Host 1
# joins 239.5.5.5 (IGMPv3); host 2 sends to the group twice a second for
# 15 s. At about 3 s host 1's interface goes down, as if its cable were
# pulled: its kernel still holds the membership but sends nothing more,
# neither a leave nor answers to queries. (The switch cannot see a TAP's
# host side go down; to it the member has just gone quiet.) Overcast keeps
# forwarding to p1 until one Group Membership Interval (9 s) after host 1's
# last report, while its general queries every 4 s go unanswered; then the
# group is gone and host 2's datagrams go nowhere (pruned). Host 1's socket
# closes at about 15 s with its link still down: no leave reaches the switch.
#
# Recorded with (as root):
#   CONFIG=config.toml NO_IPV6=1 UNTIL=15s STATE_AT=5s pcaps/record.sh membership-expiry-no-leave 2 traffic.sh
on 1 python3 "$TOOLS/mcast.py" recv 239.5.5.5 5000 15 --iface p1 &
sleep 0.5
on 2 python3 "$TOOLS/mcast.py" send 239.5.5.5 5000 30 --interval 0.5 &
sleep 2.5
on 1 ip link set p1 down
wait
