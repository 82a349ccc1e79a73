# sdfd: build, install and test the C library.
#
#   make                      build build/libsdfd.so.$(VERSION), libsdfd.a, sdfd.pc
#   make install PREFIX=/usr/local DESTDIR=
#   make uninstall PREFIX=... DESTDIR=...
#   make demo                 the main job: a socket-activated C daemon serving a request
#   make test                 every test suite (installs what it needs)
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
TARGETDIR  := $(or $(CARGO_TARGET_DIR),target)/release
B          ?= build
# Native libraries a static link needs (rustc --print native-static-libs, less -lc).
LIBS_PRIVATE := -lm -lrt -lpthread

SONAME  := libsdfd.so.$(MAJOR)
REALLIB := libsdfd.so.$(VERSION)

.PHONY: all lib install uninstall demo test bench fuzz clean

all: lib $(B)/sdfd.pc

lib:
	$(CARGO) rustc $(CARGOFLAGS) --lib --crate-type cdylib --crate-type staticlib
	@mkdir -p $(B)
	cp $(TARGETDIR)/libsdfd.so $(B)/$(REALLIB)
	cp $(TARGETDIR)/libsdfd.a $(B)/libsdfd.a
	ln -sf $(REALLIB) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libsdfd.so

$(B)/sdfd.pc: pkgconfig/sdfd.pc.in Cargo.toml Makefile
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' $< > $@

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
	      $(DESTDIR)$(INCLUDEDIR)/sdfd/sdfd.h $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd/sd-daemon.h
	-rmdir $(DESTDIR)$(INCLUDEDIR)/sdfd/systemd $(DESTDIR)$(INCLUDEDIR)/sdfd 2>/dev/null

demo:
	./examples/demo.sh

test:
	./tests/run-all.sh

bench:
	./bench/run.sh

fuzz:
	./fuzz/run.sh

clean:
	$(CARGO) clean
	rm -rf $(B)
