#!/usr/bin/python3
"""make_corpus.py - write the seed corpus of the fuzz targets (tests/fuzz/corpus/TARGET/).

    tests/fuzz/make_corpus.py [DIR]        (default: the corpus/ beside this script)

The seeds are valid inputs of each kind, built from the formats of RFC 8684 and
doc/protocol.md, so that the fuzzers start from inputs that reach the deep code: packets with
MPTCP options, every group message, a script that opens an MPTCP connection to the stack and
sends data, HTTP requests a player sends, control requests, command lines, key files.  The
files are committed; rerun this after a format changes.  Standard library only.
"""

import base64
import os
import socket
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def pad(opts):
    while len(opts) % 4:
        opts += b"\x01"
    return opts


# --- TCP / MPTCP options -----------------------------------------------------------------------
MSS = b"\x02\x04\x05\xb4"
SACKP = b"\x04\x02"
WS = b"\x03\x03\x07"
TS = b"\x08\x0a" + struct.pack("!II", 1000, 0)
KEY_A, KEY_B = 0x2A0595489E8BA137, 0xE4680A1AD3CD8528


def mpc(nkeys=0, flags=0x01, dll=None):
    body = bytes([0x01, flags])  # subtype 0, version 1; H flag
    if nkeys >= 1:
        body += struct.pack("!Q", KEY_A)
    if nkeys >= 2:
        body += struct.pack("!Q", KEY_B)
    if dll is not None:
        body += struct.pack("!H", dll)
    return bytes([30, 2 + len(body)]) + body


def dss(data_ack=None, dsn=None, ssn=1, dll=0, fin=False):
    flags = 0
    body = b""
    if data_ack is not None:
        flags |= 0x01 | 0x02  # A, a (8-byte DATA_ACK)
        body += struct.pack("!Q", data_ack)
    if dsn is not None:
        flags |= 0x04 | 0x08  # M, m (8-byte DSN)
        body += struct.pack("!QIH", dsn, ssn, dll)
    if fin:
        flags |= 0x10
    return bytes([30, 4 + len(body), 0x20, flags]) + body


def join_syn(token=0xCC960A2B, nonce=0x01020304, aid=1):
    return bytes([30, 12, 0x10, aid]) + struct.pack("!II", token, nonce)


def add_addr(ip="10.88.2.1"):
    return bytes([30, 16, 0x31, 1]) + socket.inet_aton(ip) + struct.pack("!Q", 0x1518A1163AA8EA4F)


def exp(t, payload=b""):
    return bytes([30, 3 + len(payload), 0xF0 | t]) + payload


GROUP = [
    exp(1),
    exp(2, b"\x01"),
    exp(3, struct.pack("!Q", 0x0123456789ABCDEF)),
    exp(4),
    exp(5, bytes([0x85]) + struct.pack("!IIQQ", 0xDEADBEEF, 0x01020304, 0x0123456789ABCDEF, KEY_A)),
    exp(6, struct.pack("!QI", 1 << 40, 65536)),
    exp(7, struct.pack("!QI", 12345, 4096)),
    exp(8, struct.pack("!Q", 99999)),
]

for i, (flags, o) in enumerate([
    (SYN, MSS + SACKP + TS + WS + mpc()),
    (SYN | ACK, MSS + SACKP + TS + WS + mpc(1)),
    (ACK, TS + mpc(2)),
    (ACK | PSH, TS + dss(data_ack=5, dsn=77, dll=1400)),
    (ACK, dss(data_ack=5, dsn=77, ssn=0, dll=1, fin=True)),
    (SYN, MSS + SACKP + WS + join_syn()),
    (ACK, TS + add_addr()),
    (ACK, bytes([30, 12, 0x70, 0, 0]) + struct.pack("!Q", KEY_B)),  # MP_FASTCLOSE
]):
    write("fuzz_opt", "seed-%d" % i, bytes([flags]) + pad(o))

for i, g in enumerate(GROUP):
    write("fuzz_gmsg", "seed-%d" % i, bytes([SYN if i in (0, 4) else (SYN | ACK if i == 1 else ACK)]) + pad(g))

# --- packets -------------------------------------------------------------------------------
def tcp4(src, dst, sport, dport, seq, ack, flags, opts=b"", payload=b""):
    opts = pad(opts)
    hl = 20 + len(opts)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hl // 4) << 4, flags, 65535, 0, 0) + opts + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    csum = lambda b: (lambda s: (~((s & 0xFFFF) + (s >> 16)) & 0xFFFF))(
        sum(struct.unpack("!%dH" % (len(b) // 2), b + b"\0" * (len(b) % 2))))
    ipc = csum(ip)
    ip = ip[:10] + struct.pack("!H", ipc) + ip[12:]
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    s = sum(struct.unpack("!%dH" % ((len(pseudo + tcp) + 1) // 2), pseudo + tcp + b"\0" * (len(tcp) % 2)))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    tcp = tcp[:16] + struct.pack("!H", ~s & 0xFFFF) + tcp[18:]
    return ip + tcp


C, S = "10.77.0.2", "10.88.1.1"
write("fuzz_pkt", "syn-mpc", tcp4(C, S, 40000, 80, 1000, 0, SYN, MSS + SACKP + TS + WS + mpc()))
write("fuzz_pkt", "data-dss", tcp4(S, C, 80, 40000, 5000, 1001, ACK | PSH, TS + dss(5, 77, 1, 5), b"hello"))
write("fuzz_pkt", "join", tcp4(C, S, 40001, 80, 2000, 0, SYN, MSS + SACKP + WS + join_syn()))
write("fuzz_pkt", "group-join", tcp4(C, S, 40002, 80, 3000, 0, SYN, MSS + SACKP + WS + GROUP[4]))

# --- the stack, scripted (fuzz_stack.c) ---------------------------------------------------------
def rec_syn(opts):
    o = pad(opts)
    return bytes([0, len(o)]) + o


def rec_seg(flags, opts=b"", payload=b"", dseq=0, dack=0, win=65535):
    o = pad(opts) if opts else b""
    return (bytes([1, flags]) + struct.pack("bb", dseq, dack) + struct.pack("<H", win) + bytes([len(o)]) + o
            + struct.pack("<H", len(payload)) + payload)


def rec_time(ms):
    return bytes([2]) + struct.pack("<H", ms)


def rec_app(what, n=0):
    return bytes([3, what]) + struct.pack("<H", n)


REQ = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
mptcp = (rec_syn(MSS + SACKP + WS + mpc() + exp(1)) + rec_seg(ACK, mpc(2))
         + rec_seg(ACK | PSH, dss(data_ack=0, dsn=0, ssn=1, dll=len(REQ)), REQ)
         + rec_app(0, 3000) + rec_time(50) + rec_seg(ACK, dss(data_ack=0)) + rec_time(300)
         + rec_seg(ACK, exp(6, struct.pack("!QI", 0, 65536))) + rec_app(2) + rec_time(1000)
         + rec_seg(ACK | FIN, dss(data_ack=0, dsn=0, ssn=0, dll=1, fin=True)))
write("fuzz_stack", "mptcp-session", mptcp)
plain = (rec_syn(MSS + SACKP + WS) + rec_seg(ACK) + rec_seg(ACK | PSH, b"", REQ) + rec_app(0, 1000)
         + rec_time(30) + rec_seg(ACK, dack=0) + rec_seg(ACK | FIN) + rec_time(3000))
write("fuzz_stack", "plain-session", plain)
write("fuzz_stack", "zero-window", rec_syn(MSS + WS + mpc()) + rec_seg(ACK, mpc(2)) + rec_app(0, 60000)
      + rec_seg(ACK, dss(data_ack=0), win=0) + rec_time(3000) + rec_time(3000))
write("fuzz_stack", "rst-storm", rec_syn(MSS) + rec_seg(ACK) + b"".join(rec_seg(RST | ACK, dseq=d) for d in (-5, 3, 0)))

# --- HTTP ---------------------------------------------------------------------------------------
for name, req in [
    ("get", "GET /small HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("head", "HEAD /video.mp4 HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("range", "GET /video.mp4 HTTP/1.1\r\nHost: a\r\nRange: bytes=100-199\r\n\r\n"),
    ("range-past", "GET /video.mp4 HTTP/1.1\r\nHost: a\r\nRange: bytes=99999999-\r\n\r\n"),
    ("keepalive", "GET /small HTTP/1.1\r\nHost: a\r\n\r\nGET /empty HTTP/1.1\r\nHost: a\r\n\r\n"
                  "GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
    ("http10", "GET /d/ HTTP/1.0\r\n\r\n"),
    ("cond", "GET /small HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\nIf-Range: \"y\"\r\n\r\n"),
    ("post", "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
]:
    write("fuzz_http", name, b"\x07" + req.encode())

# --- control socket, command line, key files --------------------------------------------------------
for i, r in enumerate(["status\n", "status json\r\n", "  status   json  \n", "stats\n"]):
    write("fuzz_ctl", "seed-%d" % i, r)
for i, argv in enumerate([
    "server --tun mps0 --addr 10.88.1.1 --listen 10.88.1.1:80 --serve /tmp --announce 10.88.2.1:80",
    "client --tun mps0 --addr 10.77.0.2 --addr fd77::2 --connect 10.88.1.1:80 --join [fd88::1]:80 "
    "--listen 127.0.0.1:9000 --group --sched deadline --send-timeout 2.5",
    "server --tun t --addr 10.88.1.1 --listen 10.88.1.1:80 --backend localhost:8000 --group-key k "
    "--cc olia --cc-coupled none --mtu 1400 --no-offload -v --ctl-group 0",
    "keygen",
    "--help",
]):
    write("fuzz_opts", "seed-%d" % i, b"\0".join(a.encode() for a in argv.split(" ")))
k1 = base64.b64encode(bytes(range(32))).decode()
k2 = base64.b64encode(bytes(range(32, 64))).decode()
write("fuzz_keyfile", "one", k1 + "\n")
write("fuzz_keyfile", "two", "# rotating\n" + k1 + "\r\n\n  " + k2 + "  \n")
write("fuzz_keyfile", "bad", k1[:-4] + "\n")
print("corpus written to", OUT)
