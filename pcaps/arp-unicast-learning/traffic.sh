# Three hosts: h1 pings h2 (ARP broadcast, reply, then unicast both ways),
# h2 pings h3, h3 pings h1. Afterwards every station is learned on its port
# and each echo goes to exactly one port.
on 1 ping -c 3 -i 0.2 -W 1 "$IP2"
on 2 ping -c 2 -i 0.2 -W 1 "$IP3"
on 3 ping -c 2 -i 0.2 -W 1 "$IP1"
