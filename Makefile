# sdfd: build, install and test the C library.
#
#   make                      build build/libsdfd.so.$(VERSION), libsdfd.a, sdfd.pc
#   make install PREFIX=/usr/local DESTDIR=
#                             library, headers, sdfd.pc, sdfd-activate, man pages,
#                             licences/README/CHANGELOG (BINDIR, MANDIR, DOCDIR, ...)
#   make uninstall PREFIX=... DESTDIR=...
#   make dist                 source tarball build/sdfd-$(VERSION).tar.gz (the files git knows)
#   make deb                  Debian packages libsdfd0, libsdfd-dev, sdfd-activate in build/deb/
#                             (debian/, dpkg-buildpackage -b from the make dist tarball)
#   make rpm                  RPMs sdfd, sdfd-devel, sdfd-activate and the SRPM in build/rpm/
#                             (packaging/sdfd.spec, rpmbuild -ba from the make dist tarball)
#   make wheel                Python wheels with libsdfd inside (manylinux + musllinux) in build/wheel/
#   make npm                  npm tarball with libsdfd for linux-x64 glibc and musl in build/npm/
#   make abi-check            the library's ABI against abi/ (libabigail's abidiff)
#   make abi-baseline         rewrite abi/ from the built library and header (after an API change)
#   make set-version V=x.y.z  write a new version into every manifest (Cargo.toml is the source)
#   make demo                 the main job: a socket-activated C daemon serving a request
#   make test                 every test suite (installs what it needs)
#   make test SUITES="rust c-diff"   those suites only (tests/run-all.sh --list)
#   make check                the developer loop: rustfmt, clippy, cargo test, clang-format
#   make windows              sdfd.dll, import and static libraries, header, .pc, sdfd-activate.exe for
#                             x86_64-pc-windows-gnu (MinGW-w64) in build/windows/
#   make fuzz                 libFuzzer run of every fuzz target (FUZZ_SECONDS=60 each)
#   make image                base-less OCI image $(IMAGE): static musl sdfd-activate +
#                             hello-daemon, built offline with podman (docs/containers.md)
#   make header               regenerate include/sdfd.h from src/ffi.rs (cbindgen, through xtask/)

VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR      := $(firstword $(subst ., ,$(VERSION)))
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PCDIR      ?= $(LIBDIR)/pkgconfig
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/sdfd
DESTDIR    ?=
CARGO      ?= cargo
STRIP      ?= strip
AR         ?= ar
INSTALL    ?= install
# The C library: no std, panic=abort, LTO (see Cargo.toml and README "Design").
# `cargo rustc --crate-type` builds only the C artifacts, so that LTO applies
# (cargo skips LTO when an rlib is built in the same invocation).
# `capi` compiles the C ABI in; a Rust program depending on the crate
# never gets it.
CARGOFLAGS ?= --release --no-default-features --features capi
# Calls into libc go through the PLT and are bound lazily, as in a C library
# built with Debian's default flags: a program start then looks up only the
# libc functions it calls, not all ~35 that libsdfd imports (with rustc's
# default full RELRO each one is a load-time lookup; see bench/RESULTS.md).
# No unwind tables: the C library is panic=abort and never unwinds
# (.eh_frame was ~15 % of the code a static program gained).
RUSTCFLAGS ?= -C relro-level=partial -C force-unwind-tables=no
# libsdfd.a's own calls to memcpy/memset (LLVM emits them GOT-indirect,
# which a program resolves eagerly at start-up: two symbol lookups and a
# GLIBC_2.14 version check, ~1,700 instructions) go to its hidden
# sdfd_memcpy/sdfd_memset instead (src/mem.c, bundled by packaging/capi-args.sh).
OBJCOPY    ?= objcopy
# The C parts of the C library (src/notifyf.c, src/mem.c) and the shared
# library's link arguments (soname, exports, no C start files, no unwind
# tables): the crate has no build script, so every C build passes
# what $(call capi_args,TRIPLE) prints to rustc (packaging/capi-args.sh;
# the C compiler from CC_<triple>, CC or the GNU cross compiler's name).
capi_args = packaging/capi-args.sh '$(1)' '$(or $(CARGO_TARGET_DIR),target)/capi-c'

# SDFD_NO_RAW_SYSCALLS=1: Linux x86_64/aarch64 through libc instead of raw
# system calls (tests/c/difftest.sh builds both).
NORAW_FLAGS = $(if $(filter 1,$(SDFD_NO_RAW_SYSCALLS)),--cfg sdfd_no_raw_syscalls)
# A cross build names its target in CARGOFLAGS (--target TRIPLE or
# --target=TRIPLE); cargo then puts its outputs in target/TRIPLE/release.
TRIPLE     := $(shell printf '%s\n' '$(CARGOFLAGS)' | sed -n 's/.*--target[= ]*\([^ ]*\).*/\1/p')
TARGETROOT := $(or $(CARGO_TARGET_DIR),target)$(if $(TRIPLE),/$(TRIPLE))
TARGETDIR  := $(TARGETROOT)/release
# A cross or musl cdylib is linked through rustc's own lld (as the host build
# is by default): GNU ld refuses sdfd.map next to rustc's version script.
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
LLD_FLAGS   = -C link-arg=-B$(shell rustc --print sysroot)/lib/rustlib/$(HOST_TRIPLE)/bin/gcc-ld -C link-arg=-fuse-ld=lld
# 32-bit Arm: libsdfd.a bundles compiler-rt's division and memory helpers
# (__aeabi_uidiv, __udivsi3 ...), written in assembly and so not weak like
# the rest of compiler_builtins; a static C program that also pulls libgcc's
# copies failed to link ("multiple definition of `__aeabi_uidiv'",
# tests/arch/run.sh armhf). Weakened, the toolchain's own win.
ARM_WEAKEN  = --wildcard --weaken-symbol='__aeabi_*' --weaken-symbol='__*divsi3' --weaken-symbol='__*modsi3' \
              --weaken-symbol='__*divdi3' --weaken-symbol='__*moddi3'
B          ?= build
# Native libraries a static link needs (rustc --print native-static-libs, less -lc).
LIBS_PRIVATE := -lm -lrt -lpthread

# libsdfd.a with one member per C function (packaging/split-staticlib.sh
# says why): ELF archives built for the host's architecture (GNU ld -r).
SPLIT = $(if $(and $(filter Linux,$(shell uname -s)),$(filter $(HOST_TRIPLE) x86_64-unknown-linux-musl,$(or $(TRIPLE),$(HOST_TRIPLE)))),packaging/split-staticlib.sh)

SONAME  := libsdfd.so.$(MAJOR)
REALLIB := libsdfd.so.$(VERSION)

.PHONY: all lib header compat install install-compat uninstall demo test check bench bench-launcher musl windows activate activate-musl image fuzz clean docs \
        dist deb rpm wheel npm musl-so pkglibs abi-lib abi-baseline abi-check set-version print-cargoflags

all: lib $(B)/sdfd.pc

lib:
	args=$$($(call capi_args,$(TRIPLE))) && \
	$(CARGO) rustc $(CARGOFLAGS) --lib --crate-type cdylib --crate-type staticlib -- $(RUSTCFLAGS) $(NORAW_FLAGS) \
	    $(if $(filter-out $(HOST_TRIPLE),$(TRIPLE)),$(LLD_FLAGS)) $$args
	@mkdir -p $(B)
	cp $(TARGETDIR)/libsdfd.so $(B)/$(REALLIB)
	cp $(TARGETDIR)/libsdfd.a $(B)/libsdfd.a
	$(if $(filter Linux,$(shell uname -s)),$(OBJCOPY) --redefine-sym memcpy=sdfd_memcpy --redefine-sym memset=sdfd_memset \
	    $(if $(filter arm%,$(TRIPLE)),$(ARM_WEAKEN)) $(B)/libsdfd.a)
	$(if $(SPLIT),$(SPLIT) $(B)/libsdfd.a)
	ln -sf $(REALLIB) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libsdfd.so

# The C header, generated by cbindgen (cbindgen.toml) from src/ffi.rs and
# committed; tests/c/packaging.sh fails when it is stale.
header:
	$(CARGO) run --quiet --locked -p xtask -- header include/sdfd.h

# $(call pc_file,PREFIX,LIBDIR,INCLUDEDIR,LIBS_PRIVATE): sdfd.pc on stdout
# (here and for Windows).
pc_file = sed -e 's|@PREFIX@|$(1)|' -e 's|@LIBDIR@|$(2)|' -e 's|@INCLUDEDIR@|$(3)|' \
    -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(4)|' pkgconfig/sdfd.pc.in

$(B)/sdfd.pc: pkgconfig/sdfd.pc.in Cargo.toml Makefile
	@mkdir -p $(B)
	$(call pc_file,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),$(LIBS_PRIVATE)) > $@

# Binary drop-in for programs already linked against libsystemd.so.0 that use
# only sd-daemon functions: the same objects, linked with libsystemd's soname
# and symbol versions (compat/libsystemd.sym). Installed into its own
# directory, used through LD_LIBRARY_PATH or LD_PRELOAD. compat/refuse.c
# refuses, at start-up, a program that needs any other libsystemd symbol;
# it runs while the loader relocates the shim, so its C library calls must
# go through GOT slots relocated before it (-fno-plt), not lazy PLT ones.
COMPATDIR ?= $(LIBDIR)/sdfd/compat
CC ?= cc
compat: lib
	@mkdir -p $(B)/compat
	$(CC) -shared -o $(B)/compat/libsystemd.so.0 -Wl,-soname,libsystemd.so.0 \
	    -Wl,--version-script=compat/libsystemd.sym -Wl,--gc-sections -Wl,-z,defs -Wl,-O1 \
	    -O2 -fPIC -fno-plt compat/refuse.c \
	    -Wl,--whole-archive $(B)/libsdfd.a -Wl,--no-whole-archive $(LIBS_PRIVATE) -ldl -lc
	$(STRIP) --strip-unneeded $(B)/compat/libsystemd.so.0

install-compat: compat
	install -d $(DESTDIR)$(COMPATDIR)
	install -m 755 $(B)/compat/libsystemd.so.0 $(DESTDIR)$(COMPATDIR)/libsystemd.so.0

# Man pages: every page in man/ (NAME.1, NAME.3, NAME.7) goes to $(MANDIR)/manN/.
MANPAGES := $(wildcard man/*.1 man/*.3 man/*.7)
DOCS     := README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE

# sdfd.pc depends on PREFIX: regenerate it on every install.
# The library and the launcher are installed stripped ($(STRIP)).
install: lib activate
	rm -f $(B)/sdfd.pc && $(MAKE) --no-print-directory $(B)/sdfd.pc PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 644 $(B)/$(REALLIB) $(DESTDIR)$(LIBDIR)/$(REALLIB)
	$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/$(REALLIB)
	ln -sf $(REALLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsdfd.so
	$(INSTALL) -m 644 $(B)/libsdfd.a $(DESTDIR)$(LIBDIR)/libsdfd.a
	$(INSTALL) -m 644 include/sdfd.h $(DESTDIR)$(INCLUDEDIR)/sdfd/sdfd.h
	$(INSTALL) -m 644 include/systemd/sd-daemon.h $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd/sd-daemon.h
	$(INSTALL) -m 644 $(B)/sdfd.pc $(DESTDIR)$(PCDIR)/sdfd.pc
	$(INSTALL) -m 755 $(B)/sdfd-activate-host $(DESTDIR)$(BINDIR)/sdfd-activate
	$(STRIP) $(DESTDIR)$(BINDIR)/sdfd-activate
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(foreach p,$(MANPAGES),$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p))) && \
	    $(INSTALL) -m 644 $(p) $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)) &&) true

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(REALLIB) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libsdfd.so \
	      $(DESTDIR)$(LIBDIR)/libsdfd.a $(DESTDIR)$(PCDIR)/sdfd.pc \
	      $(DESTDIR)$(INCLUDEDIR)/sdfd/sdfd.h $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd/sd-daemon.h \
	      $(DESTDIR)$(COMPATDIR)/libsystemd.so.0 $(DESTDIR)$(BINDIR)/sdfd-activate \
	      $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOCS)) \
	      $(foreach p,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd $(DESTDIR)$(INCLUDEDIR)/sdfd $(DESTDIR)$(COMPATDIR) $(DESTDIR)$(LIBDIR)/sdfd \
	       $(DESTDIR)$(DOCDIR) 2>/dev/null; true

demo:
	./examples/demo.sh

# libsdfd.a for musl (Alpine-style fully static programs):
#   musl-gcc -static prog.c -Iinclude $(B)/musl/libsdfd.a
# Needs musl-tools (musl-gcc compiles src/notifyf.c, packaging/capi-args.sh) and the rustup target.
MUSL_TARGET ?= x86_64-unknown-linux-musl
# The musl builds' prerequisites, once: musl-gcc, and the rustup target
# $(call rustup_target,TRIPLE) (added when missing; without rustup, the
# toolchain's own).
NEED_MUSL_GCC = @command -v musl-gcc >/dev/null || { echo "make $@: needs musl-gcc (apt-get install musl-tools)" >&2; exit 1; }
rustup_target = @if command -v rustup >/dev/null; then rustup target list --installed | grep -qx $(1) || rustup target add $(1); fi
musl:
	$(NEED_MUSL_GCC)
	$(call rustup_target,$(MUSL_TARGET))
	args=$$(CC_$(subst -,_,$(MUSL_TARGET))=musl-gcc AR_$(subst -,_,$(MUSL_TARGET))=$(AR) $(call capi_args,$(MUSL_TARGET))) && \
	    $(CARGO) rustc $(CARGOFLAGS) --target $(MUSL_TARGET) --lib --crate-type staticlib -- $(RUSTCFLAGS) $$args
	@mkdir -p $(B)/musl
	cp $(or $(CARGO_TARGET_DIR),target)/$(MUSL_TARGET)/release/libsdfd.a $(B)/musl/libsdfd.a
	$(if $(filter x86_64-unknown-linux-musl,$(MUSL_TARGET)),$(SPLIT) $(B)/musl/libsdfd.a)

# libsdfd.so for musl (Alpine): a cdylib for $(MUSL_TARGET) built without
# crt-static, linked with musl-gcc against musl's libc.so (the no_std crate
# names -lc itself: the libc crate only does so for std). Goes into the
# musllinux wheel and the npm package.
MUSL_SO := $(B)/musl/libsdfd.so.$(VERSION)
musl-so:
	$(NEED_MUSL_GCC)
	$(call rustup_target,$(MUSL_TARGET))
	args=$$(CC_$(subst -,_,$(MUSL_TARGET))=musl-gcc AR_$(subst -,_,$(MUSL_TARGET))=$(AR) $(call capi_args,$(MUSL_TARGET))) && \
	CARGO_TARGET_$(subst -,_,$(call upper,$(MUSL_TARGET)))_RUSTFLAGS="-C target-feature=-crt-static" \
	CARGO_TARGET_$(subst -,_,$(call upper,$(MUSL_TARGET)))_LINKER=musl-gcc \
	    $(CARGO) rustc $(CARGOFLAGS) --target $(MUSL_TARGET) --lib --crate-type cdylib -- $(RUSTCFLAGS) $(LLD_FLAGS) -C link-arg=-lc $$args
	@mkdir -p $(B)/musl
	cp $(or $(CARGO_TARGET_DIR),target)/$(MUSL_TARGET)/release/libsdfd.so $(MUSL_SO)

upper = $(shell echo '$(1)' | tr a-z A-Z)

# Python wheels (manylinux, musllinux) and sdist in $(B)/wheel/, npm tarball in
# $(B)/npm/, both with stripped copies of the two libraries (packaging/).
PKGLIBS := $(B)/pkglib
pkglibs: lib musl-so
	@mkdir -p $(PKGLIBS)
	$(STRIP) --strip-unneeded -o $(PKGLIBS)/libsdfd-glibc.so $(B)/$(REALLIB)
	$(STRIP) --strip-unneeded -o $(PKGLIBS)/libsdfd-musl.so $(MUSL_SO)

# The source tarball of the packages (packaging/dist.sh).
dist:
	./packaging/dist.sh $(B)

# Debian packages in $(B)/deb/ (packaging/deb.sh: debian/, dpkg-buildpackage
# in an unpacked copy of the dist tarball; Rust crates offline from the cargo
# registry cache).
deb:
	./packaging/deb.sh $(B)/deb

# RPMs in $(B)/rpm/ (packaging/rpm.sh: rpmbuild -ba packaging/sdfd.spec with
# the dist tarball as Source0).
rpm:
	./packaging/rpm.sh $(B)/rpm

wheel: pkglibs
	./packaging/wheel.sh $(B)/wheel $(PKGLIBS)/libsdfd-glibc.so $(PKGLIBS)/libsdfd-musl.so

npm: pkglibs
	./packaging/npm.sh $(B)/npm $(PKGLIBS)/libsdfd-glibc.so $(PKGLIBS)/libsdfd-musl.so

# sdfd-activate, the socket-activation launcher (sdfd-activate/): the host build
# and a single static musl binary for containers (build/sdfd-activate).
activate:
	$(CARGO) build --release -p sdfd-activate $(if $(TRIPLE),--target $(TRIPLE))
	@mkdir -p $(B)
	cp $(TARGETROOT)/release/sdfd-activate $(B)/sdfd-activate-host

activate-musl:
	$(call rustup_target,x86_64-unknown-linux-musl)
	$(CARGO) build --release -p sdfd-activate --target x86_64-unknown-linux-musl
	@mkdir -p $(B)
	cp $(or $(CARGO_TARGET_DIR),target)/x86_64-unknown-linux-musl/release/sdfd-activate $(B)/sdfd-activate
	$(STRIP) $(B)/sdfd-activate

# A base-less OCI image (examples/container/Containerfile, FROM scratch):
# build/sdfd-activate (entrypoint), examples/hello-daemon.c linked
# statically against the musl libsdfd.a and an empty /tmp, nothing else.
# Offline: nothing is pulled. PODMAN may carry global options (--root, --storage-driver ...).
IMAGE  ?= localhost/sdfd-hello
PODMAN ?= podman
image: activate-musl musl
	@rm -rf $(B)/image && mkdir -p $(B)/image/tmp && chmod 1777 $(B)/image/tmp
	musl-gcc -static -Os -Wall -Werror -Iinclude -o $(B)/image/hello-daemon examples/hello-daemon.c $(B)/musl/libsdfd.a
	$(STRIP) $(B)/image/hello-daemon
	cp $(B)/sdfd-activate $(B)/image/sdfd-activate
	$(PODMAN) build --pull=never --network=none -q -t $(IMAGE) -f examples/container/Containerfile $(B)/image
	@echo "$(IMAGE): $$($(PODMAN) image inspect --format '{{.Size}}' $(IMAGE)) bytes"

test:
	SUITES="$(SUITES)" ./tests/run-all.sh

check:
	./tests/check.sh

bench:
	./bench/run.sh

bench-launcher:
	./bench/launcher.sh

fuzz:
	./fuzz/run.sh

clean:
	$(CARGO) clean
	rm -rf $(B)

# Windows (MinGW-w64): a prefix tree in $(WINDIR) -- bin/sdfd.dll, bin/sdfd-activate.exe,
# lib/libsdfd.dll.a (import library), lib/libsdfd.a, include/sdfd/,
# lib/pkgconfig/sdfd.pc (prefix $(WINPREFIX), default: that directory).
WINTARGET  ?= x86_64-pc-windows-gnu
WINDIR     ?= $(B)/windows
WINPREFIX  ?= $(abspath $(WINDIR))
WINRELEASE := $(or $(CARGO_TARGET_DIR),target)/$(WINTARGET)/release
# rustc --print native-static-libs for the no_std core, plus the C runtime.
WIN_LIBS_PRIVATE := -lws2_32 -lntdll -lkernel32

windows:
	args=$$($(call capi_args,$(WINTARGET))) && \
	$(CARGO) rustc $(CARGOFLAGS) --target $(WINTARGET) --lib --crate-type cdylib --crate-type staticlib -- $$args
	@mkdir -p $(WINDIR)/bin $(WINDIR)/lib/pkgconfig $(WINDIR)/include/sdfd/systemd
	cp $(WINRELEASE)/sdfd.dll $(WINDIR)/bin/sdfd.dll
	cp $(WINRELEASE)/libsdfd.dll.a $(WINDIR)/lib/libsdfd.dll.a
	cp $(WINRELEASE)/libsdfd.a $(WINDIR)/lib/libsdfd.a
	cp include/sdfd.h $(WINDIR)/include/sdfd/sdfd.h
	cp include/systemd/sd-daemon.h $(WINDIR)/include/sdfd/systemd/sd-daemon.h
	$(call pc_file,$(WINPREFIX),$${prefix}/lib,$${prefix}/include,$(WIN_LIBS_PRIVATE)) > $(WINDIR)/lib/pkgconfig/sdfd.pc
	# The launcher (std, the library's Rust API); built after the C
	# artifacts are copied, as it rebuilds the library with default features.
	$(CARGO) build --release -p sdfd-activate --target $(WINTARGET)
	cp $(WINRELEASE)/sdfd-activate.exe $(WINDIR)/bin/sdfd-activate.exe

# The exported ABI (abi/README.md), checked by libabigail: abidw reads the
# debug information of the library, so `abi-lib` builds it with it
# (CARGO_PROFILE_RELEASE_DEBUG, the same code otherwise) in its own cargo
# target directory and $(ABI_B). `make abi-check` compares it with the
# baseline abi/libsdfd.so.MAJOR.abi (abidiff: any change fails, an
# incompatible one -- a symbol removed, a prototype changed -- and an
# addition alike); after a deliberate API change `make abi-baseline`
# rewrites the baseline and abi/sdfd.h.prototypes (the headers' declarations
# and macros); review the diff, commit.
ABI_B     ?= $(B)/abi
ABI_FILE  := abi/libsdfd.so.$(MAJOR).abi
ABIDW_OPTS = --no-corpus-path --no-show-locs --no-comp-dir-path
abi-lib:
	CARGO_PROFILE_RELEASE_DEBUG=true CARGO_TARGET_DIR=$(or $(CARGO_TARGET_DIR),target)/abi \
	RUSTFLAGS="--remap-path-prefix=$${CARGO_HOME:-$$HOME/.cargo}=/cargo" \
	    $(MAKE) --no-print-directory -s lib B=$(ABI_B)

abi-baseline: abi-lib
	abidw $(ABIDW_OPTS) --out-file $(ABI_FILE) $(ABI_B)/$(REALLIB)
	./abi/dump.sh prototypes include > abi/sdfd.h.prototypes

abi-check: abi-lib
	@abidiff $(ABI_FILE) $(ABI_B)/$(REALLIB) || { rc=$$?; \
	  echo "abi-check: $(ABI_B)/$(REALLIB) differs from $(ABI_FILE) (abidiff status $$rc$$( [ $$((rc & 8)) -ne 0 ] && echo ': INCOMPATIBLE, needs a new soname')); see abi/README.md" >&2; exit 1; }
	@echo "abi-check: $(REALLIB) has the ABI of $(ABI_FILE)"

# One version: Cargo.toml's. `make set-version V=1.2.3` writes it into every
# other manifest, packaging/sdfd.spec and a new debian/changelog entry
# (tests/packaging/release.sh checks that they agree).
set-version:
	@test -n "$(V)" || { echo "usage: make set-version V=x.y.z" >&2; exit 2; }
	sed -i '0,/^version = ".*"/s//version = "$(V)"/' Cargo.toml sdfd-activate/Cargo.toml
	sed -i 's/^__version__ = ".*"/__version__ = "$(V)"/' python/sdfd/_version.py
	V=$(V) node -e 'const fs = require("fs"), v = process.env.V; for (const f of ["node/package.json", "node/package-lock.json"]) { const j = JSON.parse(fs.readFileSync(f, "utf8")); j.version = v; if (j.packages && j.packages[""]) j.packages[""].version = v; fs.writeFileSync(f, JSON.stringify(j, null, 2) + "\n"); }'
	$(CARGO) update -q --workspace 2>/dev/null || true
	sed -i 's/^\(Version: *\).*/\1$(V)/' packaging/sdfd.spec
	@if [ "$$(sed -n '1s/^sdfd (\(.*\)-[^-]*).*/\1/p' debian/changelog)" != "$(V)" ]; then \
	  { printf 'sdfd (%s-1) unstable; urgency=medium\n\n  * New upstream version %s.\n\n -- %s  %s\n\n' \
	      '$(V)' '$(V)' 'sdfd maintainers <sdfd@users.noreply.github.com>' "$$(date -R)"; cat debian/changelog; } > debian/changelog.new && \
	  mv debian/changelog.new debian/changelog; fi

print-cargoflags:
	@echo '$(CARGOFLAGS)'

# The reference in docs/reference/ is generated from the man pages (man/,
# the one source of reference text): `make docs` after editing a page.
DOCS_REFERENCE ?= docs/reference
docs:
	@mkdir -p $(DOCS_REFERENCE)
	@for p in man/*.[0-9]; do n=$$(basename $$p); mandoc -Tmarkdown $$p > $(DOCS_REFERENCE)/$$n.md || exit 1; done
