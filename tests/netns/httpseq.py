#!/usr/bin/python3
"""httpseq.py - a player's sequence of HTTP requests on one keep-alive connection, checked.

    httpseq.py HOST:PORT DOCROOT STEP... [--timeout SECONDS]

Opens one TCP connection to HOST:PORT (an IPv4 address, or [IPv6]) and runs the STEPs in
order, each one request, answered before the next is sent unless it is pipelined.  A STEP is

    [wait=SECONDS,][pipe,][close,]METHOD:PATH[:RANGE]

  wait=S   sleep S seconds before sending it (the player thinks, or reads slowly)
  pipe     send it together with the next step, before reading either answer
  close    ask "Connection: close": the server must end the connection right after it
  METHOD   GET or HEAD;  RANGE  e.g. bytes=0-99 or bytes=99999999- (a Range header)

Each answer is read completely (Content-Length; the server's end of stream for "close") and
checked against DOCROOT/PATH: a 200 body must equal the file, a 206 body the requested
slice (with the right Content-Range), a HEAD answer must carry the file's Content-Length and
no body, a 404 must be a 404 and a 416 must carry "bytes */SIZE".  A "close" step also
checks that the connection ends right after the answer (no byte more).

Prints one JSON line per step: step, method, path, status, body (bytes), ok (true/false),
why (what was wrong, or null), ms (from sending its request to its last byte; for a
pipelined pair, each from the pair's send), and finally one line {"done": true, "ok": ...}.
Exit status 0 when every step is ok, 1 otherwise, 2 on a usage error.  Standard library
only.
"""

import json
import os
import re
import socket
import sys
import time


def parse_step(text):
    opts = {"wait": 0.0, "pipe": False, "close": False}
    parts = text.split(",")
    for p in parts[:-1]:
        if p.startswith("wait="):
            opts["wait"] = float(p[5:])
        elif p in ("pipe", "close"):
            opts[p] = True
        else:
            raise ValueError("bad step option %r" % p)
    fields = parts[-1].split(":", 2)
    if len(fields) < 2 or fields[0] not in ("GET", "HEAD"):
        raise ValueError("bad step %r" % text)
    opts["method"], opts["path"] = fields[0], fields[1]
    opts["range"] = fields[2] if len(fields) == 3 else None
    opts["text"] = text
    return opts


class Conn:
    def __init__(self, host, port, timeout):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as players do
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("the server closed the connection")
        self.buf += d

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        h, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = h.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdr = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdr[k.strip().lower()] = v.strip()
        return status, hdr

    def body(self, n):
        while len(self.buf) < n:
            self.fill()
        b, self.buf = self.buf[:n], self.buf[n:]
        return b

    def closed_after(self):
        """True when the server ends the stream with nothing more."""
        if self.buf:
            return False
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return False


def expect(step, root, status, hdr, body):
    """None when the answer is right, else what is wrong."""
    path = os.path.join(root, step["path"].lstrip("/"))
    exists = os.path.isfile(path)
    data = open(path, "rb").read() if exists else None
    if not exists:
        return None if status == 404 else "status %d for a missing file, want 404" % status
    size = len(data)
    if step["method"] == "HEAD":
        if status != 200:
            return "HEAD status %d" % status
        if hdr.get("content-length") != str(size):
            return "HEAD Content-Length %s, want %d" % (hdr.get("content-length"), size)
        return None if not body else "HEAD with a body"
    if step["range"] is None:
        if status != 200:
            return "status %d, want 200" % status
        return None if body == data else "body differs from the file (%d of %d bytes)" % (
            len(body), size)
    m = re.fullmatch(r"bytes=(\d+)-(\d*)", step["range"])
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else size - 1
    if first >= size:
        if status != 416:
            return "status %d for a range past the end, want 416" % status
        cr = hdr.get("content-range", "")
        return None if cr == "bytes */%d" % size else "416 Content-Range %r" % cr
    last = min(last, size - 1)
    if status != 206:
        return "status %d for a range, want 206" % status
    cr = hdr.get("content-range", "")
    if cr != "bytes %d-%d/%d" % (first, last, size):
        return "Content-Range %r" % cr
    return None if body == data[first:last + 1] else "range body differs"


def request(step):
    lines = ["%s %s HTTP/1.1" % (step["method"], step["path"]), "Host: mpstream-test",
             "User-Agent: httpseq"]
    if step["range"]:
        lines.append("Range: " + step["range"])
    if step["close"]:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def main(argv):
    timeout = 30.0
    if "--timeout" in argv:
        i = argv.index("--timeout")
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    hostport, root = argv[0], argv[1]
    try:
        steps = [parse_step(t) for t in argv[2:]]
    except (ValueError, AttributeError) as e:
        print("httpseq: %s" % e, file=sys.stderr)
        return 2
    host, _, port = hostport.rpartition(":")
    host = host.strip("[]")
    all_ok = True
    conn = None
    i = 0
    while i < len(steps):
        group = [steps[i]]
        while group[-1]["pipe"] and i + len(group) < len(steps):
            group.append(steps[i + len(group)])
        time.sleep(group[0]["wait"])
        t0 = time.monotonic()
        results = []
        try:
            if conn is None:
                conn = Conn(host, int(port), timeout)
                t0 = time.monotonic()  # the connection's set-up is not the answer's time
            conn.s.sendall(b"".join(request(s) for s in group))
            for s in group:
                status, hdr = conn.head()
                n = 0 if s["method"] == "HEAD" or status in (204, 304) else int(
                    hdr.get("content-length", "0"))
                body = conn.body(n)
                dt = time.monotonic() - t0  # the answer is in: checking it is not its time
                why = expect(s, root, status, hdr, body)
                if why is None and s["close"] and not conn.closed_after():
                    why = "the connection did not end after a Connection: close answer"
                results.append((s, status, len(body), why, dt))
        except (OSError, EOFError, ValueError) as e:
            done = len(results)
            for s in group[done:]:
                results.append((s, 0, 0, "%s: %s" % (type(e).__name__, e), time.monotonic() - t0))
            conn = None
        for s, status, n, why, dt in results:
            all_ok = all_ok and why is None
            print(json.dumps({"step": s["text"], "method": s["method"], "path": s["path"],
                              "status": status, "body": n, "ok": why is None, "why": why,
                              "ms": round(dt * 1000, 2)}), flush=True)
            if s["close"]:
                conn = None
        i += len(group)
    print(json.dumps({"done": True, "ok": all_ok}), flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
