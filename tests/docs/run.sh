#!/usr/bin/env bash
# The documentation, used as a reader would use it:
#   1. every man page in man/ is lint-clean (mandoc -Tlint -W warning, groff -ww);
#   2. docs/reference/ is what `make docs` generates from man/ (one source for
#      the reference text);
#   3. every fenced C block in README.md and docs/*.md, and every example of
#      the man pages, compiles as printed with -Wall -Werror against the
#      installed sdfd (pkg-config);
#   4. every quick-start sequence of the README runs from a fresh prefix,
#      venv or npm project (tests/docs/quickstart.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/sdfdtest.sh
need mandoc groff
tmpdir w docs

for page in man/*.[0-9]; do
  step "man page $page: mandoc -Tlint -W warning" sh -c "out=\$(mandoc -Tlint -W warning '$page' 2>&1); [ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"
  step "man page $page: groff -ww" sh -c "out=\$(groff -ww -mandoc -Tutf8 '$page' 2>&1 >/dev/null); [ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"
done

make -s docs DOCS_REFERENCE="$w/reference" >"$w/docs.log" 2>&1 || bad "make docs" "$(cat "$w/docs.log")"
step "docs/reference/ is what make docs generates from man/" diff -r docs/reference "$w/reference"

# Fenced ```c blocks (README, docs) and .Bd -literal examples (man pages).
python3 - "$w/blocks" README.md docs/*.md man/*.[0-9] <<'PY'
import os, re, sys
out = sys.argv[1]; os.makedirs(out)
n = 0
for path in sys.argv[2:]:
    text = open(path).read()
    if path.endswith(".md"):
        blocks = re.findall(r"^```c\n(.*?)^```", text, re.S | re.M)
    else:
        blocks = [b.replace("\\e", "\\") for b in re.findall(r"^\.Bd -literal[^\n]*\n(.*?)^\.Ed", text, re.S | re.M)]
    for i, b in enumerate(blocks):
        n += 1
        name = re.sub(r"[^A-Za-z0-9]+", "_", path) + "_%d.c" % (i + 1)
        open(os.path.join(out, name), "w").write(b)
PY
for src in "$w"/blocks/*.c; do
  [ -e "$src" ] || break
  name=$(basename "$src" .c)
  # A whole program (it has a main) is linked too.
  if grep -q 'main(' "$src"; then link="-o '$w/$name' \$(pkg-config --libs sdfd)"; else link="-c -o '$w/$name.o'"; fi
  step "C block $name compiles with -Wall -Werror" sh -c "cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror '$src' $link \$(pkg-config --cflags sdfd)"
done

# The documentation speaks of the project only: not of where it was made.
words='this machine|on this host|the seed|performance issue|packaging issue|layout issue|no Mac here|run here|(measured|tested|compiled) here'
hits=$(grep -nEi "$words" README.md docs/*.md HACKING.md python/README.md node/README.md man/* 2>/dev/null || true)
[ -z "$hits" ] && ok "README, docs and man pages speak of the project only" || bad "README/docs speak of where they were written" "$hits"

if [ -f tests/docs/quickstart.py ]; then
  counted quickstart python3 tests/docs/quickstart.py
fi
finish
