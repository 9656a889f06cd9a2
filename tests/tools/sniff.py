#!/usr/bin/env python3
"""Count frames seen on an interface for a while: an independent witness of what a port received.

usage: sniff.py IFACE SECONDS [--proto icmp|udp|igmp|arp|any] [--dst IP] [--src IP] [--vlan VID] [--ready FILE]
Prints the number of matching IPv4/IPv6 frames received (not sent) on IFACE.
--vlan VID counts only frames tagged VID (0: only untagged ones). The kernel
moves a received 802.1Q tag into metadata; it is read from PACKET_AUXDATA,
as scapy and libpcap do (and from the frame, if it stayed inline).
"""
import argparse, select, socket, struct, time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

ap = argparse.ArgumentParser()
ap.add_argument("iface")
ap.add_argument("seconds", type=float)
ap.add_argument("--proto", default="any")
ap.add_argument("--dst")
ap.add_argument("--src")
ap.add_argument("--ready")
ap.add_argument("--vlan", type=int)
a = ap.parse_args()

protos = {"icmp": {1, 58}, "udp": {17}, "igmp": {2}}
ETHERTYPE_ARP = 0x0806
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID = 263, 8, 0x10
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
s.bind((a.iface, 0))
if a.ready:
    open(a.ready, "w").close()
count = 0
end = time.time() + a.seconds
while True:
    left = end - time.time()
    if left <= 0:
        break
    r, _, _ = select.select([s], [], [], left)
    if not r:
        continue
    frame, anc, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(20))
    if addr[2] == PACKET_OUTGOING:
        continue
    vid = None
    for level, kind, data in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= 18:
            status, _, _, _, _, tci = struct.unpack("IIIHHH", data[:18])
            if status & TP_STATUS_VLAN_VALID:
                vid = tci & 0x0FFF
    if vid is None and len(frame) >= 18 and frame[12:14] == b"\x81\x00":
        vid = struct.unpack("!H", frame[14:16])[0] & 0x0FFF
        frame = frame[:12] + frame[16:]
    if a.vlan is not None and (vid or 0) != a.vlan:
        continue
    etype = struct.unpack("!H", frame[12:14])[0]
    if a.proto == "arp":
        if etype == ETHERTYPE_ARP and (not a.dst or socket.inet_ntop(socket.AF_INET, frame[38:42]) == a.dst):
            count += 1
        continue
    if etype == 0x0800 and len(frame) >= 34:
        proto, dst = frame[23], socket.inet_ntop(socket.AF_INET, frame[30:34])
        src = socket.inet_ntop(socket.AF_INET, frame[26:30])
    elif etype == 0x86DD and len(frame) >= 54:
        proto, dst = frame[20], socket.inet_ntop(socket.AF_INET6, frame[38:54])
        src = socket.inet_ntop(socket.AF_INET6, frame[22:38])
    else:
        continue
    if a.proto != "any" and proto not in protos[a.proto]:
        continue
    if a.dst and dst != a.dst:
        continue
    if a.src and src != a.src:
        continue
    count += 1
print(count)
