#!/usr/bin/python3
"""kserve.py - the kernel's side of the benchmarks: a minimal HTTP/1.x file server.

    kserve.py ADDR PORT DIR [--mptcp]

Answers each GET /NAME with 200, Content-Length and the bytes of DIR/NAME sent with
sendfile(2) (socket.sendfile), then closes the connection; anything else gets 404.  With
--mptcp the listening socket is IPPROTO_MPTCP (the in-kernel path manager of the namespace
decides the subflows), else plain TCP.  One thread per connection.

python3 -m http.server copies the file through 64 KiB read()/write() pairs in the
interpreter, which on a small machine caps the kernel's side of an unlimited transfer below
what the kernel can do; sendfile keeps the kernel's figure the kernel's.  Standard library
only.
"""

import os
import socket
import sys
import threading

IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)


def serve_one(conn, root):
    with conn:
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = conn.recv(4096)
            if not data or len(buf) > 65536:
                return
            buf += data
        parts = buf.split(b"\r\n", 1)[0].split()
        name = os.path.basename(parts[1].decode("latin-1")) if len(parts) >= 2 else ""
        path = os.path.join(root, name)
        if parts[0] != b"GET" or not name or not os.path.isfile(path):
            conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
            try:
                conn.sendfile(f)
            except OSError:
                return
        conn.shutdown(socket.SHUT_WR)


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: kserve.py ADDR PORT DIR [--mptcp]")
    addr, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    proto = IPPROTO_MPTCP if "--mptcp" in sys.argv[4:] else 0
    ls = socket.socket(fam, socket.SOCK_STREAM, proto)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(16)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve_one, args=(conn, root), daemon=True).start()


if __name__ == "__main__":
    main()
