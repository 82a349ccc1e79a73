# sdfd: build, install and test the C library.
#
#   make                      build build/libsdfd.so.$(VERSION), libsdfd.a, sdfd.pc
#   make install PREFIX=/usr/local DESTDIR=
#   make uninstall PREFIX=... DESTDIR=...
#   make demo                 the main job: a socket-activated C daemon serving a request
#   make test                 every test suite (installs what it needs)
#   make windows              sdfd.dll, import and static libraries, header, .pc, sdfd-activate.exe for
#                             x86_64-pc-windows-gnu (MinGW-w64) in build/windows/
#   make fuzz                 libFuzzer run of every fuzz target (FUZZ_SECONDS=60 each)

VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR      := $(firstword $(subst ., ,$(VERSION)))
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PCDIR      ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=
CARGO      ?= cargo
# The C library: no std, panic=abort, LTO (see Cargo.toml and README "Design").
# `cargo rustc --crate-type` builds only the C artifacts, so that LTO applies
# (cargo skips LTO when an rlib is built in the same invocation).
CARGOFLAGS ?= --release --no-default-features
# Calls into libc go through the PLT and are bound lazily, as in a C library
# built with Debian's default flags: a program start then looks up only the
# libc functions it calls, not all ~35 that libsdfd imports (with rustc's
# default full RELRO each one is a load-time lookup; see bench/RESULTS.md).
RUSTCFLAGS ?= -C relro-level=partial
# libsdfd.a's own calls to memcpy/memset (LLVM emits them GOT-indirect,
# which a program resolves eagerly at start-up: two symbol lookups and a
# GLIBC_2.14 version check, ~1,700 instructions) go to its hidden
# sdfd_memcpy/sdfd_memset instead (src/mem.c, bundled by build.rs).
OBJCOPY    ?= objcopy
TARGETDIR  := $(or $(CARGO_TARGET_DIR),target)/release
B          ?= build
# Native libraries a static link needs (rustc --print native-static-libs, less -lc).
LIBS_PRIVATE := -lm -lrt -lpthread

SONAME  := libsdfd.so.$(MAJOR)
REALLIB := libsdfd.so.$(VERSION)

.PHONY: all lib compat install install-compat uninstall demo test bench bench-launcher musl windows activate activate-musl fuzz clean

all: lib $(B)/sdfd.pc

lib:
	$(CARGO) rustc $(CARGOFLAGS) --lib --crate-type cdylib --crate-type staticlib -- $(RUSTCFLAGS)
	@mkdir -p $(B)
	cp $(TARGETDIR)/libsdfd.so $(B)/$(REALLIB)
	cp $(TARGETDIR)/libsdfd.a $(B)/libsdfd.a
	$(if $(filter Linux,$(shell uname -s)),$(OBJCOPY) --redefine-sym memcpy=sdfd_memcpy --redefine-sym memset=sdfd_memset $(B)/libsdfd.a)
	ln -sf $(REALLIB) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libsdfd.so

$(B)/sdfd.pc: pkgconfig/sdfd.pc.in Cargo.toml Makefile
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' $< > $@

# Binary drop-in for programs already linked against libsystemd.so.0 that use
# only sd-daemon functions: the same objects, linked with libsystemd's soname
# and symbol versions (compat/libsystemd.sym). Installed into its own
# directory, used through LD_LIBRARY_PATH or LD_PRELOAD.
COMPATDIR ?= $(LIBDIR)/sdfd/compat
CC ?= cc
compat: lib
	@mkdir -p $(B)/compat
	$(CC) -shared -o $(B)/compat/libsystemd.so.0 -Wl,-soname,libsystemd.so.0 \
	    -Wl,--version-script=compat/libsystemd.sym -Wl,--gc-sections -Wl,-z,defs -Wl,-O1 \
	    -Wl,--whole-archive $(B)/libsdfd.a -Wl,--no-whole-archive $(LIBS_PRIVATE) -lc
	strip --strip-unneeded $(B)/compat/libsystemd.so.0

install-compat: compat
	install -d $(DESTDIR)$(COMPATDIR)
	install -m 755 $(B)/compat/libsystemd.so.0 $(DESTDIR)$(COMPATDIR)/libsystemd.so.0

# sdfd.pc depends on PREFIX: regenerate it on every install.
install: lib
	rm -f $(B)/sdfd.pc && $(MAKE) --no-print-directory $(B)/sdfd.pc PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd
	install -m 755 $(B)/$(REALLIB) $(DESTDIR)$(LIBDIR)/$(REALLIB)
	ln -sf $(REALLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsdfd.so
	install -m 644 $(B)/libsdfd.a $(DESTDIR)$(LIBDIR)/libsdfd.a
	install -m 644 include/sdfd.h $(DESTDIR)$(INCLUDEDIR)/sdfd/sdfd.h
	install -m 644 include/systemd/sd-daemon.h $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd/sd-daemon.h
	install -m 644 $(B)/sdfd.pc $(DESTDIR)$(PCDIR)/sdfd.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(REALLIB) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libsdfd.so \
	      $(DESTDIR)$(LIBDIR)/libsdfd.a $(DESTDIR)$(PCDIR)/sdfd.pc \
	      $(DESTDIR)$(INCLUDEDIR)/sdfd/sdfd.h $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd/sd-daemon.h \
	      $(DESTDIR)$(COMPATDIR)/libsystemd.so.0
	-rmdir $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd $(DESTDIR)$(INCLUDEDIR)/sdfd $(DESTDIR)$(COMPATDIR) $(DESTDIR)$(LIBDIR)/sdfd 2>/dev/null

demo:
	./examples/demo.sh

# libsdfd.a for musl (Alpine-style fully static programs):
#   musl-gcc -static prog.c -Iinclude $(B)/musl/libsdfd.a
# Needs musl-tools (musl-gcc compiles src/notifyf.c) and the rustup target.
MUSL_TARGET ?= x86_64-unknown-linux-musl
musl:
	@command -v musl-gcc >/dev/null || { echo "make musl: needs musl-gcc (apt-get install musl-tools)" >&2; exit 1; }
	@if command -v rustup >/dev/null; then rustup target list --installed | grep -qx $(MUSL_TARGET) || rustup target add $(MUSL_TARGET); fi
	CC_$(subst -,_,$(MUSL_TARGET))=musl-gcc AR_$(subst -,_,$(MUSL_TARGET))=ar \
	    $(CARGO) rustc $(CARGOFLAGS) --target $(MUSL_TARGET) --lib --crate-type staticlib -- $(RUSTCFLAGS)
	@mkdir -p $(B)/musl
	cp $(or $(CARGO_TARGET_DIR),target)/$(MUSL_TARGET)/release/libsdfd.a $(B)/musl/libsdfd.a

# sdfd-activate, the socket-activation launcher (sdfd-activate/): the host build
# and a single static musl binary for containers (build/sdfd-activate).
activate:
	$(CARGO) build --release -p sdfd-activate
	@mkdir -p $(B)
	cp $(or $(CARGO_TARGET_DIR),target)/release/sdfd-activate $(B)/sdfd-activate-host

activate-musl:
	rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
	$(CARGO) build --release -p sdfd-activate --target x86_64-unknown-linux-musl
	@mkdir -p $(B)
	cp $(or $(CARGO_TARGET_DIR),target)/x86_64-unknown-linux-musl/release/sdfd-activate $(B)/sdfd-activate
	strip $(B)/sdfd-activate

test:
	./tests/run-all.sh

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
	$(CARGO) rustc $(CARGOFLAGS) --target $(WINTARGET) --lib --crate-type cdylib --crate-type staticlib
	@mkdir -p $(WINDIR)/bin $(WINDIR)/lib/pkgconfig $(WINDIR)/include/sdfd/systemd
	cp $(WINRELEASE)/sdfd.dll $(WINDIR)/bin/sdfd.dll
	cp $(WINRELEASE)/libsdfd.dll.a $(WINDIR)/lib/libsdfd.dll.a
	cp $(WINRELEASE)/libsdfd.a $(WINDIR)/lib/libsdfd.a
	cp include/sdfd.h $(WINDIR)/include/sdfd/sdfd.h
	cp include/systemd/sd-daemon.h $(WINDIR)/include/sdfd/systemd/sd-daemon.h
	sed -e 's|@PREFIX@|$(WINPREFIX)|' -e 's|@LIBDIR@|$${prefix}/lib|' -e 's|@INCLUDEDIR@|$${prefix}/include|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(WIN_LIBS_PRIVATE)|' pkgconfig/sdfd.pc.in > $(WINDIR)/lib/pkgconfig/sdfd.pc
	# The launcher (std, the library's Rust API); built after the C
	# artifacts are copied, as it rebuilds the library with default features.
	$(CARGO) build --release -p sdfd-activate --target $(WINTARGET)
	cp $(WINRELEASE)/sdfd-activate.exe $(WINDIR)/bin/sdfd-activate.exe
