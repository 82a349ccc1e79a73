#!/usr/bin/env python3
"""The hand-off across architectures: tests/handoff/daemon.c built for a
guest architecture (run under qemu-user, or natively for i686) and for
x86_64 hands its sockets back and forth by offer/receive:

    guest -> x86_64 -> guest -> x86_64

Each successor must serve both listening sockets under their names (the
wire header, the name records and the SCM_RIGHTS descriptors crossed a
change of byte order or word size), read the generation the other one
wrote, and the old instance must exit. Run by tests/arch/run.sh.

    handoff.py ARCH 'GUEST COMMAND...' HOST_DAEMON

Ends with "N passed, N failed".
"""
import os
import shlex
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "handoff"))
from sdfdtest import check, summary  # noqa: E402
from run import Daemon, ask  # noqa: E402  (tests/handoff/run.py)


def main():
    arch, guest, host = sys.argv[1], shlex.split(sys.argv[2]), [sys.argv[3]]
    tmp = tempfile.mkdtemp(prefix="sdfd-arch-handoff-")
    d = None
    try:
        d = Daemon(tmp, "cross-" + arch, guest)
        pid, gen = d.start()
        served = [ask(d.web), ask(d.aux)]
        check("%s: the first instance serves 'web' and 'aux'" % arch,
              served == [(0, pid, "web"), (0, pid, "aux")], "%r\n%s" % (served, d.output()[-1500:]))
        order = [("x86_64", host), (arch, guest), ("x86_64", host)]
        for i, (name, cmd) in enumerate(order, 1):
            prev = arch if name == "x86_64" else "x86_64"
            d.cmd = cmd
            ok, new = d.upgrade("offer")
            if not ok:
                check("hand-off %d, %s -> %s" % (i, prev, name), False, new)
                break
            served = [ask(d.web), ask(d.aux)]
            check("hand-off %d, %s -> %s: generation %d serves 'web' and 'aux' in the successor, the old one exited"
                  % (i, prev, name, i), served == [(i, new, "web"), (i, new, "aux")],
                  "%r\n%s" % (served, d.output()[-1500:]))
            log = d.output()
            check("hand-off %d: the %s successor was activated with web, aux, state" % (i, name),
                  log.count("activated: 3: web aux state") == i, log[-1500:])
    except Exception as e:  # a set-up failure is a failure, not a skip
        import traceback
        traceback.print_exc()
        check("%s: cross-architecture hand-off ran to the end" % arch, False, repr(e))
    finally:
        if d is not None:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
