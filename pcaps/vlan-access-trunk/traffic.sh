# Four hosts, all in 10.77.0.0/24: p1 and p2 in VLAN 10, p3 in VLAN 20, p4 on
# the trunk. p1 pings p2 (their ARP and echoes also reach the trunk tagged 10);
# p3 tries p1 in the same subnet and gets nothing (its ARP reaches only the
# trunk, tagged 20); the trunk host writes a VLAN 20 broadcast (p3 gets it
# untagged) and a VLAN 30 one (dropped: the trunk does not carry 30); p1 joins
# 239.1.1.1 and p2 sends it, so the trunk and p3 are spared it.
on 1 python3 "$TOOLS/mcast.py" recv 239.1.1.1 5000 4 --iface p1 >/dev/null &
sleep 1.5
on 1 ping -c 2 -i 0.2 -W 1 "$IP2"
on 3 ping -c 1 -W 1 "$IP1" || true
for vid in 20 30; do
  on 4 python3 -c "import socket,struct; s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('p4', 0)); src=bytes([2,0,0,0,0x99,4]); arp=struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1)+src+bytes([10,77,0,4])+bytes(6)+bytes([10,77,0,99]); s.send(b'\xff'*6+src+struct.pack('!HH', 0x8100, $vid)+b'\x08\x06'+arp+bytes(18))"
done
on 2 python3 "$TOOLS/mcast.py" send 239.1.1.1 5000 10 --iface p2
wait
