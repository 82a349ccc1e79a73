#!/usr/bin/env python3
"""Roles for the symlink-race test of tests/handoff/run.py (issue 28 #1).

    race.py offer LIB PATH ROUNDS UID|-1   offer a pipe end ROUNDS times with timeout 0
                                          (and UID allowed, or none); prints the
                                          results as "errno count" lines
    race.py offer-once LIB PATH USEC       one offer with that timeout; prints its result
    race.py offer-n LIB PATH N             one offer of N descriptors; prints its result
    race.py receive LIB PATH               one receive; prints its result and the soft fd limit
    race.py attack PATH TARGET             until killed: whenever PATH is a socket,
                                          replace it by a symlink to TARGET (the
                                          window between bind() and chmod()), and
                                          swap every private ".sdfd-offer.*"
                                          directory for one holding such a symlink;
                                          on SIGTERM prints how many of each it did
"""
import ctypes
import os
import signal
import stat
import sys


def offer(lib, path, rounds, uid):
    c = ctypes.CDLL(lib)
    f = c.sdfd_handoff_offer
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_char_p),
                  ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint]
    r, w = os.pipe()
    fds = (ctypes.c_int * 1)(w)
    names = (ctypes.c_char_p * 1)(b"x")
    counts = {}
    for _ in range(rounds):
        rc = f(os.fsencode(path), fds, names, 1, 0, uid & 0xFFFFFFFF)
        counts[rc] = counts.get(rc, 0) + 1
        if rc == -98:  # something the attacker left at the path: clear it for the next round
            try:
                if not stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
            except OSError:
                pass
    for rc, k in sorted(counts.items()):
        print(rc, k)


def attack(path, target):
    d = os.path.dirname(path)
    base = os.path.basename(path)
    swaps = [0, 0]

    def report(*_):
        print(*swaps, flush=True)
        os._exit(0)
    signal.signal(signal.SIGTERM, report)
    while True:
        try:
            for name in os.listdir(d):
                p = os.path.join(d, name)
                if name == base:
                    st = os.lstat(p)
                    if stat.S_ISSOCK(st.st_mode):
                        os.unlink(p)
                        os.symlink(target, p)
                        swaps[0] += 1
                elif name.startswith(".sdfd-offer.") and not name.endswith(".old"):
                    try:
                        os.rename(p, p + ".old")
                        os.mkdir(p)
                        os.symlink(target, os.path.join(p, "s"))
                        swaps[1] += 1
                    except OSError:
                        pass
        except OSError:
            pass


if __name__ == "__main__":
    if sys.argv[1] == "offer-once":  # LIB PATH TIMEOUT_USEC: one offer, prints its result
        c = ctypes.CDLL(sys.argv[2])
        c.sdfd_handoff_offer.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_char_p),
                                         ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint]
        r, w = os.pipe()
        print(c.sdfd_handoff_offer(os.fsencode(sys.argv[3]), (ctypes.c_int * 1)(w), (ctypes.c_char_p * 1)(b"x"), 1,
                                   int(sys.argv[4]), 0xFFFFFFFF), flush=True)
    elif sys.argv[1] == "offer-n":  # LIB PATH N: one pipe end offered N times (x0 x1 ...), 10 s
        c = ctypes.CDLL(sys.argv[2])
        c.sdfd_handoff_offer.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_char_p),
                                         ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint]
        n = int(sys.argv[4])
        r, w = os.pipe()
        names = (ctypes.c_char_p * n)(*[b"x%d" % i for i in range(n)])
        print(c.sdfd_handoff_offer(os.fsencode(sys.argv[3]), (ctypes.c_int * n)(*[w] * n), names, n, 10_000_000,
                                   0xFFFFFFFF), flush=True)
    elif sys.argv[1] == "receive":  # LIB PATH: prints the result and the soft RLIMIT_NOFILE after it
        import resource
        c = ctypes.CDLL(sys.argv[2])
        c.sdfd_handoff_receive.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.c_uint]
        rc = c.sdfd_handoff_receive(os.fsencode(sys.argv[3]), 10_000_000, 0xFFFFFFFF)
        print(rc, resource.getrlimit(resource.RLIMIT_NOFILE)[0], flush=True)
    elif sys.argv[1] == "offer":
        offer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        attack(sys.argv[2], sys.argv[3])
