#!/usr/bin/env python3
"""Join a multicast group through the kernel's IP stack and count datagrams; or send some.

  mcast.py recv GROUP PORT SECONDS [--iface IF] [--source S] [--ready FILE] [--leave-after T]
      Joins GROUP (any-source, or source-specific with --source), prints the count received.
      The kernel sends the IGMP/MLD reports itself. --leave-after drops the membership after T
      seconds but keeps counting until SECONDS (to see traffic stop after a leave).
  mcast.py send GROUP PORT COUNT [--iface IF] [--interval S]
"""
import argparse, select, socket, struct, sys, time

IP_ADD_SOURCE_MEMBERSHIP = getattr(socket, "IP_ADD_SOURCE_MEMBERSHIP", 39)
MCAST_JOIN_SOURCE_GROUP = 46

def ifindex(name):
    return socket.if_nametoindex(name) if name else 0

def join(sock, fam, group, iface, source):
    if fam == socket.AF_INET:
        local = socket.inet_aton("0.0.0.0")
        if iface:
            import fcntl
            ifr = struct.pack("256s", iface.encode()[:15])
            local = fcntl.ioctl(sock.fileno(), 0x8915, ifr)[20:24]  # SIOCGIFADDR
        g = socket.inet_aton(group)
        if source:
            # struct ip_mreq_source: multiaddr, interface, sourceaddr
            sock.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, g + local + socket.inet_aton(source))
            return ("ssm", g + local + socket.inet_aton(source))
        mreq = g + local
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        return ("asm", mreq)
    idx = ifindex(iface)
    if source:
        def ss(addr):
            sa = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0, socket.inet_pton(socket.AF_INET6, addr), 0)
            return sa + b"\0" * (128 - len(sa))
        req = struct.pack("=I", idx) + b"\0" * 4 + ss(group) + ss(source)
        sock.setsockopt(socket.IPPROTO_IPV6, MCAST_JOIN_SOURCE_GROUP, req)
        return ("ssm6", req)
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("=I", idx)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    return ("asm6", mreq)

def leave(sock, how):
    kind, req = how
    if kind == "asm":
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, req)
    elif kind == "ssm":
        sock.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_DROP_SOURCE_MEMBERSHIP", 40), req)
    elif kind == "asm6":
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, req)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, 47, req)  # MCAST_LEAVE_SOURCE_GROUP

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["recv", "send"])
    ap.add_argument("group")
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=float)
    ap.add_argument("--iface")
    ap.add_argument("--source")
    ap.add_argument("--ready")
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--leave-after", type=float)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.group else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.mode == "send":
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 4)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 4)
            if a.iface:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex(a.iface))
        for i in range(int(a.n)):
            s.sendto(b"overcast %d" % i, (a.group, a.port))
            time.sleep(a.interval)
        return
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.group, a.port))
    how = join(s, fam, a.group, a.iface, a.source)
    if a.ready:
        open(a.ready, "w").close()
    count, start = 0, time.time()
    left_group = False
    while True:
        now = time.time()
        if a.leave_after is not None and not left_group and now - start >= a.leave_after:
            leave(s, how)
            left_group = True
            print("left", count, file=sys.stderr, flush=True)
        remaining = a.n - (now - start)
        if remaining <= 0:
            break
        wait = remaining if a.leave_after is None or left_group else min(remaining, a.leave_after - (now - start))
        r, _, _ = select.select([s], [], [], max(wait, 0.01))
        if r:
            s.recv(2048)
            count += 1
    print(count)

main()
