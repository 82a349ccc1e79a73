#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/corpus/TARGET/,
from the value lists of the differential suite (tests/c/difftest.py).
Input formats: see fuzz/harness.rs. Re-running it is harmless (files are
named by content hash)."""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "c"))
import difftest as d  # noqa: E402


def enc(v):
    """difftest's {pid} placeholders as the harness's 0x01 byte."""
    if v is None:
        return b""
    return v.replace("{pid}", "\x01").replace("{pid+1}", "1").replace("{pidhex}", "0x1").replace(
        "{pidoct}", "01").encode()


def put(target, data):
    out = os.path.join(HERE, "corpus", target)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def flags(pid, fds, names, unset=0, op=0, auto=0):
    return bytes([(pid is not None) | (fds is not None) << 1 | (names is not None) << 2 | unset << 3 | op << 4 | auto << 6])


for op in range(3):
    for u in (0, 1):
        for pid in d.PID_VALUES:
            put("listen_env", flags(pid, "2", None, u, op) + enc(pid) + b"\0" + b"2\0")
        for fds in d.FDS_VALUES:
            put("listen_env", flags("{pid}", fds, None, u, op) + b"\x01\0" + enc(fds) + b"\0")
        for names in d.NAMES_VALUES:
            put("listen_env", flags("{pid}", "", names, u, op, auto=1) + b"\x01\0\0" + enc(names))
            put("listen_env", flags("{pid}", "3", names, u, op) + b"\x01\x003\0" + enc(names))
for names in d.NAMES_VALUES:
    put("names_split", enc(names))
for usec in d.WATCHDOG_USEC:
    for wpid in d.WATCHDOG_PID:
        for u in (0, 4):
            f = (usec is not None) | (wpid is not None) << 1 | u
            put("watchdog_env", bytes([f]) + enc(usec) + b"\0" + enc(wpid))
            put("watchdog_env", bytes([f | 8]) + enc(usec) + b"\0" + enc(wpid))
for sock in d.NOTIFY_SOCKETS + ["vsock:2:1234", "vsock:host:1", "vsock-stream:3:7", "vsock-dgram:1:1",
                                "vsock-seqpacket:4294967295:2", "vsock::1", "vsock:2:4294967296", "vsock:x:y"]:
    if sock is not None:
        put("notify_socket", enc(sock.replace("{recv}", "/tmp/x").replace("{abs}", "@x")))
for fd in range(11):
    for ty in range(6):
        for lis in range(3):
            for fl in (0, 1, 3, 4):
                for ln in (0, 1, 2, 8, 16, 28, 128):
                    if (fd + ty + lis + ln) % 5 == 0 or fl == 1:
                        put("sockaddr", bytes([fd, ty, lis, fl, ln]))
            for fl in (0, 1, 2, 1 | 4, 1 | 8, 1 | 12, 8):
                put("socket_unix", bytes([fd, ty, lis, fl, 3]))
for fd in range(9):
    for fl in (0, 1, 2):
        for p in (b"", b"/dev/null", b"/dev/zero", b"/nonexistent", b"relative", b"/", b"x" * 300):
            put("fd_paths", bytes([fd, fl]) + p)
uuid = "67e55044-10b1-426f-9247-bb680e5fe0c8"
for server in ["127.0.0.1:8080", "[::1]:1", "[fe80::1%7]:65535", "127.0.0.1:0", "127.0.0.1:65536", ":80",
               "[::1%x]:80", "x:00080", "127.0.0.1"]:
    for secret in [uuid, uuid.upper(), uuid.replace("-", ""), "{%s}" % uuid, "urn:uuid:" + uuid, uuid[:-1], ""]:
        for reply in [b"", b"\0" * 628, b"\1" * 1256, b"\2" * 700]:
            if (len(server) + len(secret) + len(reply)) % 3 == 0 or not reply:
                put("systemfd_protocol", server.encode() + b"\0" + secret.encode() + b"\0" + reply)
