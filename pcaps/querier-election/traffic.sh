# IGMP querier election (RFC 3376 6.6.2). Host 1 puts its interface p1 into
# a Linux bridge br0, moves its address 10.77.0.1 onto br0 and turns on the
# bridge's IGMPv3 querier, which queries from that address (startup queries
# 1 s apart, then every 2 s: iproute2 bridge intervals are in centiseconds).
# 10.77.0.1 is lower than Overcast's 10.77.0.254: Overcast sends one general
# query at 0 s, hears the bridge's first query and stops querying
# (non_querier, elected 10.77.0.1), adopts the winner's robustness and query
# interval and makes p1 a router port. Host 2 joins 239.1.1.1 and answers
# the bridge's queries; its reports go to the router port p1 only. At about
# 6 s the bridge's querier is turned off. One Other Querier Present Interval
# (2 x 2 s + 1 s / 2 = 4.5 s) after the last query heard, Overcast queries
# again at once and is the querier (elected 10.77.0.254) to the end.
# Host 2 leaves at about 14 s, when its socket closes: after `until`, not replayed.
#
# Recorded with (as root):
#   CONFIG=config.toml NO_IPV6=1 UNTIL=13s STATE_AT=4s pcaps/record.sh querier-election 2 traffic.sh
on 1 ip link add br0 type bridge mcast_querier 1 mcast_query_use_ifaddr 1 \
  mcast_igmp_version 3 mcast_query_interval 200 mcast_query_response_interval 100 \
  mcast_startup_query_interval 100
on 1 ip addr del "$IP1/24" dev p1
on 1 ip link set p1 master br0
on 1 ip addr add "$IP1/24" dev br0
on 1 ip link set br0 up
on 2 python3 "$TOOLS/mcast.py" recv 239.1.1.1 5000 14 --iface p2 &
sleep 6
on 1 ip link set br0 type bridge mcast_querier 0
wait
