# MLDv2 join and leave, IPv6 on. The hosts' kernels bring their links up
# with the usual chatter (DAD neighbour solicitations, MLDv2 reports for
# their solicited-node groups, router solicitations): real traffic, left in.
# After 2 s (DAD done, link-local addresses usable) hosts 1 and 2 join
# ff15::1234 (MLDv2 TO_EX {} reports); host 3 sends to the group five times
# a second from about 3 s to 11 s. Host 1 leaves about 4 s after joining
# (a TO_IN {} report, sent twice). Overcast, the MLD querier, answers with
# Last Listener Query Count (2) multicast-address-specific queries 500 ms
# apart and removes p1 from the group one Last Listener Query Time (1 s)
# after the leave; host 2 keeps getting the group.
# Host 2 leaves at about 12 s, when its socket closes: after `until`, not replayed.
#
# Recorded with (as root):
#   CONFIG=config.toml UNTIL=11s STATE_AT="5s 6600ms" pcaps/record.sh mldv2-join-leave 3 traffic.sh
sleep 2
on 1 python3 "$TOOLS/mcast.py" recv ff15::1234 5000 9 --iface p1 --leave-after 4 &
on 2 python3 "$TOOLS/mcast.py" recv ff15::1234 5000 10 --iface p2 &
sleep 1
on 3 python3 "$TOOLS/mcast.py" send ff15::1234 5000 40 --iface p3 --interval 0.2
wait
