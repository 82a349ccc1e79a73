#!/usr/bin/env python3
"""Measures the programs bench/run.sh built and prints bench/RESULTS.md.

    measure.py OUTDIR          (OUTDIR = bench/out)

Instructions: valgrind --tool=callgrind, whole process (dynamic loader
included), median of 3 runs. Wall time: bench/spawn.c, fork+exec+wait,
interleaved runs, median. Syscalls: strace between two marker calls around
sd_listen_fds(1). Sizes: stripped files.
"""
import collections
import glob
import os
import platform
import re
import statistics
import subprocess
import sys

OUT = sys.argv[1]
B = os.path.join(OUT, "bin")
SPAWN = os.path.join(B, "spawn")
RUNS = int(os.environ.get("BENCH_RUNS", "3000"))


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def instructions(prog):
    vals = []
    for _ in range(3):
        p = sh(SPAWN, "exec", "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", prog)
        m = re.search(r"Collected : (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            sys.exit("callgrind failed for %s (rc %d): %s" % (prog, p.returncode, p.stderr[-2000:]))
        vals.append(int(m.group(1)))
    return int(statistics.median(vals))


def walltimes(progs):
    p = sh(SPAWN, "time", str(RUNS), *progs)
    if p.returncode != 0:
        sys.exit("spawn time failed: " + p.stderr)
    res = {}
    for line in p.stdout.splitlines():
        name, med, p10, p90 = line.split()
        res[name] = (float(med), float(p10), float(p90))
    return res


def stripped_size(path):
    tmp = os.path.join(OUT, "stripped.tmp")
    subprocess.run(["strip", "-o", tmp, path], check=True)
    n = os.path.getsize(tmp)
    os.unlink(tmp)
    return n


def syscalls(prog, n, hole):
    log = os.path.join(OUT, "strace.log")
    p = sh("strace", "-o", log, prog, str(n), str(hole))
    if p.returncode != 0:
        sys.exit("strace failed: " + p.stderr)
    inside, calls = False, []
    for line in open(log):
        if "/sdfd-bench-begin" in line:
            inside = True
        elif "/sdfd-bench-end" in line:
            inside = False
        elif inside:
            m = re.match(r"(\w+)\(", line)
            if m:
                calls.append(m.group(1))
    return calls, p.stdout.strip()


def summarize(calls):
    counts = {}
    for c in calls:
        counts[c] = counts.get(c, 0) + 1
    return ", ".join("%s×%d" % (k, v) if v > 1 else k for k, v in counts.items())


def ratio(x, base):
    return "%.3f×" % (x / base)


def so_breakdown(stripped, size):
    """Where the stripped libsdfd.so's bytes go: its sections, grouped, and
    the code by API area (symbol sizes of the unstripped build, whose
    inlined helpers count for their caller)."""
    w = print
    secs = {}
    for line in sh("readelf", "-SW", stripped).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+([0-9a-f]+)", line)
        if m and m.group(2) != "NOBITS":
            secs[m.group(1)] = int(m.group(3), 16)
    groups = [("code (`.text`, `.plt`)", (".text", ".plt")),
              ("dynamic symbols and their names, hash, versions (`.dynsym`, `.dynstr`, `.gnu.hash`, `.gnu.version*`)",
               (".dynsym", ".dynstr", ".gnu.hash", ".gnu.version", ".gnu.version_r")),
              ("relocations, GOT, `.dynamic` (`.rela.*`, `.got*`, `.dynamic`)", (".rela.dyn", ".rela.plt", ".got", ".got.plt", ".dynamic")),
              ("read-only data, `.data.rel.ro`, `.data`", (".rodata", ".data.rel.ro", ".data")),
              ("build id, comment, section names", (".note.gnu.build-id", ".comment", ".shstrtab"))]
    rows, counted = [], 0
    for name, members in groups:
        n = sum(secs.get(s, 0) for s in members)
        counted += n
        rows.append((name, n))
    rows.append(("ELF header, program and section headers, alignment", size - counted))
    unstripped = next(iter(sorted(glob.glob(os.path.join(OUT, "build", "libsdfd.so.0.*")))), None)
    areas = collections.Counter()
    if unstripped:
        for line in sh("nm", "-S", "-C", unstripped).stdout.splitlines():
            f = line.split(None, 3)
            if len(f) < 4 or f[2] not in "tT":
                continue
            n, z = f[3], int(f[1], 16)
            for area, pat in [("hand-off (`sdfd_handoff_*`)", "handoff"),
                              ("notify (`sd_*notify*`, `sd_booted`)", "notif|barrier|booted"),
                              ("`sd_is_*`", "sd_is_|check::"),
                              ("addresses (`sdfd_find_socket`)", "address|find_socket"),
                              ("activation (`sd_listen_fds*`, names, snapshot, by name, environment)",
                               "listen|env|names|snapshot|activate|parse|environ|cloexec|byname")]:
                if re.search(pat, n):
                    areas[area] += z
                    break
            else:
                areas["other (watchdog, libc/core helpers, memcpy/memset, C shims)"] += z
    w("\nWhere the stripped `libsdfd.so.0` (%s bytes) goes, by section:\n" % format(size, ","))
    w("| part | bytes |")
    w("|---|---:|")
    for name, n in rows:
        w("| %s | %s |" % (name, format(n, ",")))
    if areas:
        w("\nThe code by API area (function sizes; inlined helpers count for their caller):\n")
        w("| area | bytes of code |")
        w("|---|---:|")
        for area, n in areas.most_common():
            w("| %s | %s |" % (area, format(n, ",")))


def main():
    w = print
    info = {
        "kernel": platform.release(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "glibc": sh("ldd", "--version").stdout.splitlines()[0].split()[-1],
        "libsystemd": sh("pkg-config", "--modversion", "libsystemd").stdout.strip(),
        "rustc": sh("rustc", "--version").stdout.strip(),
        "cc": sh("cc", "--version").stdout.splitlines()[0],
    }
    w("# sdfd benchmarks\n")
    w("Generated by `make bench` (bench/run.sh, bench/measure.py); all figures from one run on one machine:")
    w("Linux %(kernel)s, %(cpu)s, glibc %(glibc)s, libsystemd %(libsystemd)s, %(rustc)s, %(cc)s.\n" % info)

    # ---- start-up ----
    progs = [("a", "a-libsystemd", "sd_listen_fds(1), linked against libsystemd.so.0", None),
             ("b", "b-sdfd-shared", "sd_listen_fds(1), linked against libsdfd.so.0", 1.15),
             ("c", "c-sdfd-static", "sd_listen_fds(1), libsdfd.a linked in (glibc still shared)", 1.05),
             ("d", "d-plain", "`int main(void) { return 0; }`, no library", None),
             ("r1", "empty-c-shared", "reference: an empty C shared library (bench/empty-lib.c)", None),
             ("r2", "floor-c-shared", "reference: a minimal C shared library (bench/floor-lib.c)", None),
             ("r3", "nolibc-c-shared", "reference: a shared library making no libc call (bench/nolibc-lib.c)", None),
             ("r4", "nolibc-c-static", "reference: the same linked into the program", None),
             ("r5", "unset-c-shared", "reference: the same shared, no C start files, libc's unsetenv (bench/nolibc-lib.c -DLIBC_UNSETENV)", None),
             ("r6", "own-c-shared", "reference: the same shared, no C start files, `environ` edited itself (bench/nolibc-lib.c)", None),
             ("e", "e-musl-sdfd-static", "sd_listen_fds(1), musl-gcc -static with libsdfd.a", None),
             ("f", "f-musl-plain", "`return 0`, musl-gcc -static", None)]
    progs = [p for p in progs if os.path.exists(os.path.join(B, p[1]))]
    ins = {k: instructions(os.path.join(B, f)) for k, f, _, _ in progs}
    wt = walltimes([os.path.join(B, f) for _, f, _, _ in progs])
    wall = {k: wt[os.path.join(B, f)] for k, f, _, _ in progs}
    w("## Start-up cost (per connection of an inetd-style daemon)\n")
    w("Each program is started as a service manager starts an `Accept=yes` service: fork, a connected socket as "
      "fd 3, a clean environment (`PATH`, `LISTEN_PID`, `LISTEN_FDS=1`, `LISTEN_FDNAMES=connection`), exec, wait "
      "(bench/spawn.c). The program calls `sd_listen_fds(1)` and exits 0 only if it returned 1. Instructions are "
      "the whole process under callgrind, dynamic loader included; wall time is fork to wait, median of %d "
      "interleaved runs (p10–p90 in brackets). All ratios are against (d), the dynamically linked glibc program "
      "with no library; (r1) and (r2) are reference C shared libraries (not sdfd) that show what loading *any* "
      "shared library costs here: (r1) does nothing, (r2) is a naive getenv/strtol/getpid/fcntl/unsetenv "
      "implementation; (r3)/(r4) make no libc call at all (x86_64 only), the lower bound for any "
      "implementation.\n" % RUNS)
    w("| | program | instructions | × (d) | target | wall µs | × (d) |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for k, f, desc, target in progs:
        base = "d"
        t = "" if target is None else ("≤ %.2f× %s" % (target, "✓" if ins[k] / ins[base] <= target else "✗"))
        med, p10, p90 = wall[k]
        w("| (%s) | %s | %s | %s | %s | %.0f (%.0f–%.0f) | %s |" % (
            k, desc, format(ins[k], ","), ratio(ins[k], ins[base]), t, med, p10, p90, ratio(med, wall[base][0])))
    w("\nlibsystemd costs (a) − (d) = %s instructions per start; libsdfd.so (b) − (d) = %s; libsdfd.a (c) − (d) = %s "
      "(libsystemd / libsdfd.so = %.1f×)." % (format(ins["a"] - ins["d"], ","), format(ins["b"] - ins["d"], ","),
                                               format(ins["c"] - ins["d"], ","),
                                               (ins["a"] - ins["d"]) / max(1, ins["b"] - ins["d"])))
    w("Loading any shared library costs (r1) − (d) = %s here, so (b)'s own share is (b) − (r1) = %s; a naive C "
      "library (r2) − (d) = %s. Fully static with musl, sd_listen_fds costs (e) − (f) = %s instructions, and the "
      "whole process (e) is %.0f× cheaper than the empty dynamically linked glibc program (d)." % (
          format(ins["r1"] - ins["d"], ","), format(ins["b"] - ins["r1"], ","), format(ins["r2"] - ins["d"], ","),
          format(ins["e"] - ins["f"], ","), ins["d"] / ins["e"]))
    if "r6" in ins:
        target = 2000
        over = ins["b"] - ins["r1"]
        w("\nWhere (b) and (c) stand against their targets. Issue 30's target for the shared library: (b) − (r1), "
          "sdfd's own share over loading an empty library, at most %s instructions: %s %s (tests/c/packaging.sh "
          "fails above it). Every program start pays, for a shared library that declares its libc dependency: the "
          "`DT_NEEDED libc.so.6` entry and one symbol version (`GLIBC_2.2.5`) checked, and one load-time symbol "
          "lookup (`environ`). (r6) is exactly that plus `sd_listen_fds(1)`'s work (no libc call: raw system calls, "
          "the variables removed from `environ` directly), written in C and linked without C start files as "
          "libsdfd.so is: (r6) − (r1) = %s, the floor of any libc-dependent library here. (r5), the same with libc's "
          "`unsetenv` (its lazy binding at the first call and three calls), costs %s more than (r6): that is what "
          "sdfd saves since it removes the entries from `environ` itself on Linux as glibc's and musl's `unsetenv` "
          "do (src/env.rs; the one difference, no lock, in docs/c-api.md). sdfd's (b) is %s instructions above "
          "(r6): the dynamic linker sets one lazily bound PLT slot for each of the ~45 libc functions the other "
          "functions (notify, hand-off, address parsing) import, about 14 instructions each (`_dl_relocate_object`), "
          "zeroes the tail of the pages after the RELRO data and `.bss` (lld's `.relro_padding`), and the listen "
          "path's own Rust (one pass over `environ` for the four variables, `strtol`'s rules in Rust, the "
          "`FD_CLOEXEC` loop; the same pass removes the variables): callgrind's per-function difference "
          "between (b) and (r6). "
          "(c), the same code linked into the program, is %s, %s instructions above (d) and %s against (r4) (the "
          "same program with an `unsetenv` of its own and no libc call at all): the `environ` lookup, one lazily "
          "bound PLT slot per libc function the linked code references, and the listen path's own work. LLVM emits "
          "its own `memcpy`/`memset` calls GOT-indirect, which the dynamic linker would resolve before `main` (two "
          "symbol lookups and the `GLIBC_2.14` version, ~1,700 instructions): `make` renames them in libsdfd.a to "
          "hidden `sdfd_memcpy`/`sdfd_memset` (src/mem.c, bundled by packaging/capi-args.sh) with `objcopy --redefine-sym`." % (
              format(target, ","), format(over, ","), "✓" if over <= target else "✗",
              format(ins["r6"] - ins["r1"], ","), format(ins["r5"] - ins["r6"], ","),
              format(ins["b"] - ins["r6"], ","),
              ratio(ins["c"], ins["d"]), format(ins["c"] - ins["d"], ","), format(ins["c"] - ins["r4"], "+,")))

    # ---- syscalls ----
    w("\n## System calls made by `sd_listen_fds(1)`\n")
    w("bench/syscalls.c opens n descriptors at 3…, optionally closes one, sets `LISTEN_PID`/`LISTEN_FDS` and calls "
      "`sd_listen_fds(1)` between two marker calls; `strace` lists what happened between them. Both libraries "
      "return the same value in every row (checked here; their full equivalence, flags included, is "
      "tests/c/difftest.sh's job). `getpid` is the `LISTEN_PID` check; the rest marks `FD_CLOEXEC`.\n")
    w("| n | closed fd | result | libsystemd | sdfd | libsystemd syscalls | sdfd syscalls |")
    w("|---:|---|---:|---:|---:|---|---|")
    cases = [(1, -1), (16, -1), (256, -1), (1000, -1), (16, 0), (16, 8), (16, 15), (256, 128), (1000, 600)]
    for n, hole in cases:
        ca, ra = syscalls(os.path.join(B, "sys-libsystemd"), n, hole)
        cb, rb = syscalls(os.path.join(B, "sys-sdfd"), n, hole)
        if ra != rb:
            sys.exit("results differ for n=%d hole=%d: %s vs %s" % (n, hole, ra, rb))
        where = "none" if hole < 0 else "fd %d (index %d)" % (3 + hole, hole)
        w("| %d | %s | %s | %d | %d | %s | %s |" % (n, where, ra, len(ca), len(cb), summarize(ca), summarize(cb)))
    w("\nsdfd makes exactly libsystemd's calls (src/fd.rs): one `fcntl(F_GETFD)` per descriptor and one `F_SETFD` "
      "when `FD_CLOEXEC` is not set yet, stopping at the first that fails, and nothing else, so any system-call "
      "allow-list that libsystemd's `sd_listen_fds` passes, sdfd's passes too (tests/c/seccomp.sh derives the "
      "smallest such kill-mode filter from libsystemd and runs sdfd under it).")

    # ---- sizes ----
    w("\n## Size\n")
    so = os.path.realpath(os.path.join(OUT, "stage", "lib", "libsdfd.so.0"))
    so_size = stripped_size(so)
    add_start = stripped_size(os.path.join(B, "c-sdfd-static")) - stripped_size(os.path.join(B, "b-sdfd-shared"))
    add_all = stripped_size(os.path.join(B, "all-sdfd-static")) - stripped_size(os.path.join(B, "all-sdfd-shared"))
    musl_start, musl_plain = stripped_size(os.path.join(B, "e-musl-sdfd-static")), stripped_size(os.path.join(B, "f-musl-plain"))
    musl_all = stripped_size(os.path.join(B, "all-musl-sdfd-static"))
    gc = lambda n: stripped_size(os.path.join(B, "gc-" + n))
    gc_start, gc_all = gc("start-static") - gc("start-shared"), gc("all-static") - gc("all-shared")
    ldd = sh("ldd", os.path.join(B, "all-libsystemd")).stdout
    libs = {}
    for line in ldd.splitlines():
        m = re.search(r"=> (/\S+)", line)
        if m:
            libs[os.path.basename(m.group(1))] = os.path.getsize(os.path.realpath(m.group(1)))
    common = {k: v for k, v in libs.items() if k.startswith(("libc.so", "ld-linux"))}
    closure = sum(v for k, v in libs.items() if k not in common)
    k = lambda n: "%s B (%.1f KiB)" % (format(n, ","), n / 1024)
    w("| what | bytes | target |")
    w("|---|---:|---:|")
    w("| `libsdfd.so.0`, stripped (every exported function; needs only libc.so.6) | %s | < 64 KiB %s |" % (k(so_size), "✓" if so_size < 65536 else "✗"))
    w("| added to a C program by linking `libsdfd.a`, `sd_listen_fds` only (stripped static − stripped shared link of bench/start.c) | %s | < 64 KiB %s |" % (k(add_start), "✓" if add_start < 65536 else "✗"))
    w("| added to a C program by linking `libsdfd.a`, every function (bench/allfuncs.c) | %s | < 64 KiB %s |" % (k(add_all), "✓" if add_all < 65536 else "✗"))
    w("| the same two, linked with `-Wl,--gc-sections` (stripped static − stripped shared link): `sd_listen_fds` only / every function | %s / %s | |" % (k(gc_start), k(gc_all)))
    w("| fully static musl program calling `sd_listen_fds` (whole binary, libc included) | %s | |" % k(musl_start))
    w("| fully static musl program calling every function (whole binary) | %s | |" % k(musl_all))
    w("| fully static musl `return 0` (for comparison) | %s | |" % k(musl_plain))
    w("| the same three with `-Wl,--gc-sections` | %s / %s / %s | |" % (k(gc("musl-start")), k(gc("musl-all")), k(gc("musl-plain"))))
    w("| libsystemd.so.0 and the libraries it loads, libc and ld.so not counted (%s) | %s | |" % (
        ", ".join("%s %s" % (n, format(v, ",")) for n, v in sorted(libs.items()) if n not in common), k(closure)))
    w("| the same with %s | %s | |" % (" and ".join(sorted(common)), k(closure + sum(common.values()))))
    w("\nlibsystemd's closure is %.0f× libsdfd.so." % (closure / so_size))
    so_breakdown(so, so_size)
    w("\nThe two `--gc-sections` rows compare a static link of libsdfd.a with a link against libsdfd.so, page-rounded "
      "file sizes: what a program gains against no library at all is in \"Footprint\" below (bench/footprint.sh). "
      "libsdfd.a has one member per function (or family of functions sharing code; packaging/split-staticlib.sh), "
      "so that a static link takes in only what the functions a program calls need, also without `--gc-sections`.")

main()
