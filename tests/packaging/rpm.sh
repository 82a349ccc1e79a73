#!/usr/bin/env bash
# The source tarball of `make dist` and the RPMs of packaging/sdfd.spec
# (`make rpm`: rpmbuild -ba on this Debian machine): the tarball holds what
# git knows but debian/ and is reproducible; rpmlint (with packaging/rpmlint.toml, whose
# filters say why) reports no error and no warning; `rpm -qpl` of sdfd,
# sdfd-devel and sdfd-activate is the file list of `make install`
# (PREFIX=/usr, LIBDIR=/usr/lib64), each file in one package; the
# dependencies between them. Nothing is installed.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/sdfdtest.sh
tmpdir t rpm-test
command -v rpmbuild >/dev/null && command -v rpmlint >/dev/null || die "rpm and rpmlint are not installed (tests/deps.sh)"
v=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

# 1. make dist: the files git knows (debian/ apart), under sdfd-VERSION/, the same bytes twice.
if make -s dist B="$t/d1" >/dev/null 2>"$t/dist.log" && make -s dist B="$t/d2" >/dev/null 2>>"$t/dist.log"; then
  tb=$t/d1/sdfd-$v.tar.gz
  tar -tzf "$tb" | sed "s|^sdfd-$v/||" | sort > "$t/tar.list"
  git ls-files --cached --others --exclude-standard | grep -v '^debian/' | while IFS= read -r f; do [ -e "$f" ] && echo "$f"; done | sort > "$t/git.list"
  if cmp -s "$tb" "$t/d2/sdfd-$v.tar.gz" && diff "$t/git.list" "$t/tar.list" >"$t/dist.diff"; then
    ok "make dist: sdfd-$v.tar.gz holds the $(wc -l < "$t/tar.list") files git knows but debian/, under sdfd-$v/; two runs give the same bytes ($(sha256sum < "$tb" | cut -c1-16)…)"
  else bad "make dist" "$(cmp "$tb" "$t/d2/sdfd-$v.tar.gz"; cat "$t/dist.diff")"; fi
else bad "make dist" "$(cat "$t/dist.log")"; fi

# 2. make rpm: rpmbuild -ba from that tarball.
start=$SECONDS
nice -n 5 make -s rpm B="$t/build" >"$t/make.log" 2>&1 || die "make rpm" "$(tail -40 "$t/make.log")"
arch=$(rpm --eval '%{_arch}')
rel=$(rpmspec -q --srpm --qf '%{release}' packaging/sdfd.spec 2>/dev/null)
rpms=()
for p in sdfd sdfd-devel sdfd-activate; do rpms+=("$t/build/rpm/RPMS/$arch/$p-$v-$rel.$arch.rpm"); done
srpm=$t/build/rpm/SRPMS/sdfd-$v-$rel.src.rpm
ls "${rpms[@]}" "$srpm" >/dev/null 2>&1 \
  && ok "make rpm: $(for r in "${rpms[@]}" "$srpm"; do printf '%s ' "$(basename "$r")"; done)($((SECONDS - start)) s)" \
  || die "make rpm did not make ${rpms[*]##*/} $(basename "$srpm")" "$(find "$t/build/rpm" -name '*.rpm')"

# 3. rpmlint: no error, no warning.
rpmlint -c packaging/rpmlint.toml "${rpms[@]}" "$srpm" packaging/sdfd.spec >"$t/rpmlint.log" 2>&1; rc=$?
summary=$(grep -E 'packages and [0-9]+ specfiles checked' "$t/rpmlint.log")
[ $rc -eq 0 ] && [[ "$summary" == *" 0 errors, 0 warnings"* ]] \
  && ok "rpmlint -c packaging/rpmlint.toml: $(sed 's/; has taken.*//; s/^ *//' <<<"$summary")" \
  || bad "rpmlint (status $rc)" "$(grep -E ': [EW]: ' "$t/rpmlint.log")"$'\n'"$summary"

# 4. rpm -qpl against make install: every file of make install in exactly
#    one package (man pages gzipped), documentation and licences apart.
make -s install B="$t/b" DESTDIR="$t/inst" PREFIX=/usr LIBDIR=/usr/lib64 >"$t/install.log" 2>&1 \
  || die "make install" "$(tail -20 "$t/install.log")"
(cd "$t/inst" && find . \( -type f -o -type l \) ! -path './usr/share/doc/*' | sed 's/^\.//' | sort) > "$t/make-install.list"
for r in "${rpms[@]}"; do
  rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$r" 2>/dev/null | awk '$1 !~ /^d/ {print $2}' \
    | grep -vE '^/usr/share/(doc|licenses)/' | sed 's/\.gz$//' | sort > "$r.list"
done
sort "${rpms[@]/%/.list}" > "$t/rpms.list"
if [ -s "$t/make-install.list" ] && diff "$t/make-install.list" "$t/rpms.list" >"$t/list.diff" && [ -z "$(uniq -d "$t/rpms.list")" ] \
   && [ "$(cat "${rpms[0]}.list")" = "$(grep '^/usr/lib64/libsdfd\.so\.[0-9]' "$t/make-install.list")" ] \
   && [ "$(cat "${rpms[2]}.list")" = "$(grep -E '^/usr/(bin/|share/man/man1/)' "$t/make-install.list")" ]; then
  ok "rpm -qpl: the three RPMs hold the $(wc -l < "$t/make-install.list") files of make install, each once; sdfd only the library, sdfd-activate the launcher and its page"
else bad "RPM contents differ from make install (< make install, > RPMs)" "$(cat "$t/list.diff")"; fi
docs=$(rpm -qpl "${rpms[0]}" | grep -cE "/usr/share/(doc|licenses)/sdfd-$v/(README.md|CHANGELOG.md|LICENSE-MIT|LICENSE-APACHE)$")
[ "$docs" = 4 ] && ok "sdfd carries README.md and CHANGELOG.md (%doc), LICENSE-MIT and LICENSE-APACHE (%license)" \
  || bad "sdfd's documentation" "$(rpm -qpl "${rpms[0]}")"

# 5. Dependencies: -devel on the exact library package, the library's soname provided.
req=$(rpm -qp --requires "${rpms[1]}" 2>/dev/null); prov=$(rpm -qp --provides "${rpms[0]}" 2>/dev/null)
grep -qx "sdfd(x86-64) = $v-$rel" <<<"$req" && grep -qx 'libsdfd.so.0()(64bit)' <<<"$prov" \
  && ! rpm -qp --requires "${rpms[2]}" 2>/dev/null | grep -q libsdfd \
  && ok "sdfd-devel requires sdfd(x86-64) = $v-$rel; sdfd provides libsdfd.so.0()(64bit); sdfd-activate needs no libsdfd (the crate is linked in)" \
  || bad "RPM dependencies" "requires: $req"$'\n'"provides: $prov"
finish
