#!/usr/bin/python3
"""gapmeter.py - an HTTP player that measures what it is given.

    gapmeter.py URL OUT [--log FILE] [--json FILE] [--steady-from SECONDS] [--timeout SECONDS]

Fetches URL (http://HOST[:PORT]/PATH, HOST an IPv4 address, [IPv6] or a name) with one
HTTP/1.1 GET over a plain kernel TCP socket, writes the body to OUT ("-": standard output, so
that a player such as ffmpeg can decode the bytes as they arrive: "gapmeter.py URL - --json J |
ffmpeg -i pipe:0 ...") and takes the monotonic time and size of every recv() that returned
body bytes.  A slow reader of standard output holds gapmeter up and shows as gaps.  Prints one
JSON line (to --json FILE if given, else to standard output, or to standard error when OUT is
"-"):

    status        the status code of the response (0 if none arrived)
    reason        its reason phrase
    content_length  Content-Length (null if the server sent none)
    bytes         body bytes received
    complete      true when the body is whole (Content-Length reached, or EOF without one)
    seconds       from the start (the moment connect() is called) to the last body byte
    ttfb_ms       start -> first body byte
    gap_ms        longest time between two consecutive deliveries (the headers count as
                  the first delivery), i.e. the longest stall the player saw mid-stream
    gap_at_s      when that gap began, in seconds since the start
    mbit          average goodput over the whole transfer (Mbit/s, 10^6 bits)
    steady_mbit   goodput from --steady-from seconds (default 2) to one second before the
                  last byte, as the least-squares slope of bytes over time: slow
                  start and connection set-up left out; null when the transfer ended
                  before that
    sha256        of the body
    recvs         number of recv() calls that returned body bytes
    start_epoch_ms  the start, in milliseconds since the epoch (to line up other records)
    error         null, or what went wrong (connection refused, reset, timeout...)

--log FILE writes one line "t_ms bytes_cumulative" per recv() (t_ms since the start,
three decimals), preceded by "0.000 0", for plotting and for computing rates over any window.

Exit status: 0 when the status is 200 and the body is complete; 1 otherwise (the JSON line is
printed in every case); 2 for a usage error.  Standard library only.
"""

import argparse
import hashlib
import json
import socket
import sys
import time
import urllib.parse

RECV_SIZE = 256 * 1024
MAX_HEADER = 64 * 1024


def parse_url(url):
    """Return (host, port, target) of an http:// URL; raise ValueError otherwise."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise ValueError("only http://HOST[:PORT]/PATH URLs are supported: %r" % url)
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    return u.hostname, u.port or 80, target, u.netloc


def parse_head(head):
    """Parse the status line and headers; return (status, reason, {lower name: value})."""
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError("bad header line %r" % line)
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


class Meter:
    """Times of deliveries to the player and the body they carry."""

    def __init__(self, out, log):
        self.t0 = time.monotonic()
        self.epoch = time.time()
        self.out = out
        self.log = log
        self.sha = hashlib.sha256()
        self.bytes = 0
        self.recvs = 0
        self.last = None  # time of the previous delivery
        self.first_body = None
        self.gap = 0.0
        self.gap_at = 0.0
        self.samples = [(0.0, 0)]  # (seconds since start, cumulative bytes)
        if log:
            log.write("0.000 0\n")

    def delivery(self, now):
        """Account a delivery (headers or body) at monotonic time now."""
        if self.last is not None and now - self.last > self.gap:
            self.gap = now - self.last
            self.gap_at = self.last - self.t0
        self.last = now

    def body(self, data, now):
        self.delivery(now)
        if self.first_body is None:
            self.first_body = now
        self.out.write(data)
        self.sha.update(data)
        self.bytes += len(data)
        self.recvs += 1
        t = now - self.t0
        self.samples.append((t, self.bytes))
        if self.log:
            self.log.write("%.3f %d\n" % (t * 1000.0, self.bytes))

    def steady_mbit(self, start):
        """Steady-state goodput: the least-squares slope of the bytes received
        against time, from start seconds to one second before the last byte
        (the whole rest if that leaves less than a second).  A slope, not a
        difference of two samples, so that a burst of reads at either end of
        the window (bytes that waited in a socket buffer) barely moves it.
        None when the transfer ended before start."""
        if self.bytes == 0:
            return None
        t_end = self.samples[-1][0]
        if t_end <= start:
            return None
        stop = t_end - 1.0 if t_end - 1.0 - start >= 1.0 else t_end
        pts = [(t, b) for t, b in self.samples if start <= t <= stop]
        if len(pts) < 2:
            return None
        n = float(len(pts))
        mt = sum(t for t, _ in pts) / n
        mb = sum(b for _, b in pts) / n
        var = sum((t - mt) ** 2 for t, _ in pts)
        if var <= 0:
            return None
        slope = sum((t - mt) * (b - mb) for t, b in pts) / var
        return slope * 8 / 1e6


def fetch(args, meter, result):
    host, port, target, netloc = parse_url(args.url)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, stype, proto, _, addr = infos[0]
    sock = socket.socket(family, stype, proto)
    sock.settimeout(args.timeout)
    try:
        sock.connect(addr)
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mpstream-gapmeter\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n" % (target, netloc))
        sock.sendall(req.encode("ascii"))

        buf = b""
        while b"\r\n\r\n" not in buf:
            data = sock.recv(RECV_SIZE)
            if not data:
                raise ConnectionError("connection closed before the end of the headers")
            buf += data
            if len(buf) > MAX_HEADER and b"\r\n\r\n" not in buf:
                raise ValueError("headers longer than %d bytes" % MAX_HEADER)
        now = time.monotonic()
        head, _, rest = buf.partition(b"\r\n\r\n")
        status, reason, headers = parse_head(head)
        result["status"] = status
        result["reason"] = reason
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise ValueError("chunked transfer coding is not supported")
        clen = headers.get("content-length")
        clen = int(clen) if clen is not None else None
        result["content_length"] = clen
        meter.delivery(now)
        if rest:
            meter.body(rest[:clen] if clen is not None else rest, now)

        while clen is None or meter.bytes < clen:
            want = RECV_SIZE if clen is None else min(RECV_SIZE, clen - meter.bytes)
            data = sock.recv(want)
            now = time.monotonic()
            if not data:
                break
            meter.body(data, now)
        result["complete"] = clen is None or meter.bytes >= clen
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser(description="HTTP GET that measures delivery gaps")
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--log", help='write "t_ms bytes_cumulative" lines to this file')
    ap.add_argument("--json", help="write the JSON line to this file")
    ap.add_argument("--steady-from", type=float, default=2.0, metavar="SECONDS",
                    help="start of the steady-state goodput window (default 2)")
    ap.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                    help="give up when nothing arrives for this long (default 30)")
    args = ap.parse_args()

    result = {"status": 0, "reason": "", "content_length": None, "complete": False,
              "error": None}
    log = open(args.log, "w") if args.log else None
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    meter = Meter(out, log)
    try:
        fetch(args, meter, result)
        out.flush()
    except (OSError, ValueError) as e:
        result["error"] = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
    if out is not sys.stdout.buffer:
        out.close()
    if log:
        log.close()

    end = meter.samples[-1][0]
    result.update({
        "bytes": meter.bytes,
        "seconds": round(end, 3),
        "ttfb_ms": (round((meter.first_body - meter.t0) * 1000.0, 1)
                    if meter.first_body is not None else None),
        "gap_ms": round(meter.gap * 1000.0, 1),
        "gap_at_s": round(meter.gap_at, 3),
        "mbit": round(meter.bytes * 8 / end / 1e6, 2) if end > 0 else None,
        "steady_mbit": None,
        "sha256": meter.sha.hexdigest(),
        "recvs": meter.recvs,
        "start_epoch_ms": round(meter.epoch * 1000.0, 1),
    })
    steady = meter.steady_mbit(args.steady_from)
    if steady is not None:
        result["steady_mbit"] = round(steady, 3)
    line = json.dumps(result, sort_keys=True) + "\n"
    if args.json:
        with open(args.json, "w") as f:
            f.write(line)
    else:
        dest = sys.stderr if args.out == "-" else sys.stdout
        dest.write(line)
        dest.flush()
    return 0 if result["status"] == 200 and result["complete"] and not result["error"] else 1


if __name__ == "__main__":
    sys.exit(main())
