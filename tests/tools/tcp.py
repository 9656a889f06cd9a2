#!/usr/bin/env python3
"""A TCP transfer with an end-to-end digest: proves TCP carried every byte intact.

  tcp.py serve PORT [--ready FILE] [--bind ADDR]   accept one connection, print "<bytes> <sha256>"
  tcp.py send HOST PORT BYTES                      send BYTES of varied data, print "<bytes> <sha256>"
"""
import hashlib, os, socket, sys

def main():
    mode = sys.argv[1]
    if mode == "serve":
        port = int(sys.argv[2])
        ready = sys.argv[sys.argv.index("--ready") + 1] if "--ready" in sys.argv else None
        bind = sys.argv[sys.argv.index("--bind") + 1] if "--bind" in sys.argv else "::"
        fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bind, port))
        s.listen(1)
        s.settimeout(60)
        if ready:
            open(ready, "w").close()
        c, _ = s.accept()
        c.settimeout(60)
        h, n = hashlib.sha256(), 0
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        print(n, h.hexdigest())
        return
    host, port, total = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    block = os.urandom(1 << 20)
    c = socket.create_connection((host, port), timeout=60)
    h, sent, i = hashlib.sha256(), 0, 0
    while sent < total:
        chunk = (i.to_bytes(8, "big") + block)[: min(total - sent, 1 << 20)]
        c.sendall(chunk)
        h.update(chunk)
        sent += len(chunk)
        i += 1
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    print(sent, h.hexdigest())

main()
