//! Build steps. Always: the cfg aliases (`sdfd_linux`, `sdfd_raw_syscalls`).
//! Feature `capi` only (the C library): the printf-style notify shims in C,
//! libsdfd's private memcpy/memset, the shared library's soname and exports.
//! Writes only to OUT_DIR. The header is not generated here: `make header`
//! (xtask/) writes include/sdfd.h.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    cfg_aliases();
    #[cfg(feature = "capi")]
    capi();
}

/// A link argument of the shared library (soname, exports, no C start
/// files ...). The package declares no crate types (a Rust consumer builds
/// only the rlib), so cargo's `rustc-cdylib-link-arg` would warn that there
/// is no cdylib target; instead the C builds that link the cdylib
/// (`cargo rustc --lib --crate-type cdylib`: the Makefile, panic-check,
/// the aarch64 suite) set `SDFD_CDYLIB=1`, and the arguments then go to
/// that invocation's one linked artifact. Never set it for `cargo build`
/// or `cargo test`: tests and examples would get them too.
#[cfg(feature = "capi")]
fn cdylib_link_arg(arg: &str) {
    if std::env::var_os("SDFD_CDYLIB").is_some_and(|v| v == "1") {
        println!("cargo:rustc-link-arg={arg}");
    }
}

/// `cc` is an optional build dependency, enabled by `capi`.
#[cfg(feature = "capi")]
fn capi() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    // The printf-style notify calls are C (variadic); link them in and
    // export them from the shared library.
    println!("cargo:rerun-if-changed=src/notifyf.c");
    println!("cargo:rerun-if-changed=sdfd.map");
    println!("cargo:rerun-if-env-changed=SDFD_CDYLIB");
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // SDFD_SKIP_C_SHIM=1: type-check only (tests/macos/check.sh runs
    // `cargo check` for Apple targets, whose C compiler and SDK this host
    // lacks). The printf-style calls are then missing: never ship that build.
    println!("cargo:rerun-if-env-changed=SDFD_SKIP_C_SHIM");
    let skip_shim = std::env::var_os("SDFD_SKIP_C_SHIM").is_some_and(|v| v == "1");
    if skip_shim {
        println!("cargo:warning=SDFD_SKIP_C_SHIM=1: sd_notifyf & co. not built (type-check only)");
    }
    if family == "unix" && !skip_shim {
        cc::Build::new().file("src/notifyf.c").warnings(true).compile("sdfd_notifyf");
        for sym in ["sd_notifyf", "sd_pid_notifyf", "sd_pid_notifyf_with_fds"] {
            cdylib_link_arg(&format!("-Wl,--undefined={sym}"));
        }
        if os != "macos" && os != "ios" {
            cdylib_link_arg(&format!("-Wl,--version-script={dir}/sdfd.map"));
        }
    }
    if os == "windows" {
        let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
        let built = cc::Build::new().file("src/notifyf.c").warnings(true).try_compile("sdfd_notifyf");
        match built {
            Ok(()) => {
                for sym in ["sd_notifyf", "sd_pid_notifyf", "sd_pid_notifyf_with_fds"] {
                    if env == "msvc" {
                        cdylib_link_arg(&format!("/INCLUDE:{sym}"));
                    } else {
                        cdylib_link_arg(&format!("-Wl,--undefined={sym}"));
                    }
                }
            }
            // Only a cross type-check (`cargo check --target *-msvc` without
            // cl.exe) may end up here; a real build needs the C compiler.
            Err(e) if env == "msvc" => println!("cargo:warning=notifyf.c not compiled (type-check only?): {e}"),
            Err(e) => panic!("compiling src/notifyf.c: {e}"),
        }
    }
    // libsdfd.so's own hidden memcpy/memset (src/mem.c says why): linked
    // into the shared library only, never bundled into libsdfd.a under
    // these names.
    println!("cargo:rerun-if-changed=src/mem.c");
    if os == "linux" && !skip_shim {
        // The object itself, not an archive: the linker takes an archive
        // member only for a symbol still undefined, and libc defines these.
        let objs = cc::Build::new()
            .file("src/mem.c")
            .flag("-ffreestanding")
            .flag_if_supported("-fno-tree-loop-distribute-patterns")
            .cargo_metadata(false)
            .compile_intermediates();
        for o in objs {
            cdylib_link_arg(&o.display().to_string());
        }
        // The same code as sdfd_memcpy/sdfd_memset, bundled into libsdfd.a:
        // `make` renames the archive's references to memcpy/memset to these
        // (objcopy --redefine-sym, see the Makefile), so that a program
        // linking libsdfd.a does not resolve libc's memcpy/memset through
        // the GOT before main. Hidden, and named so that they cannot
        // replace the program's own memcpy/memset.
        // (Its own directory: the object would otherwise overwrite the one
        // linked into libsdfd.so above, which has the same file name.)
        let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
        cc::Build::new()
            .file("src/mem.c")
            .out_dir(format!("{out}/static-mem"))
            .flag("-ffreestanding")
            .flag_if_supported("-fno-tree-loop-distribute-patterns")
            .define("memcpy", "sdfd_memcpy")
            .define("memset", "sdfd_memset")
            .compile("sdfd_mem");
    }
    // No C start files (crti/crtbegin/crtend/crtn) in libsdfd.so: they exist
    // for C++ constructors, destructors and TM clones, which this library
    // has none of, and they cost every program start three failed lookups of
    // weak symbols plus __cxa_finalize at exit (~4,000 instructions, see
    // bench/RESULTS.md). The library then has no DT_INIT/DT_FINI at all.
    if os == "linux" && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu") {
        cdylib_link_arg("-nostartfiles");
    }
    // No unwind tables in libsdfd.so: the library is panic=abort and calls
    // no user code, so nothing unwinds through it; rustc emits .eh_frame
    // even with -C force-unwind-tables=no, and it was 13 % of the stripped
    // file (bench/RESULTS.md, "Footprint"). A linker-script fragment that
    // discards the sections (written to OUT_DIR, inserted into the default
    // layout).
    if os == "linux" && !skip_shim {
        let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
        let script = format!("{out}/noeh.ld");
        std::fs::write(&script, "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n")
            .expect("writing noeh.ld to OUT_DIR");
        cdylib_link_arg(&format!("-Wl,-T,{script}"));
    }
    if os == "linux" || os == "android" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        cdylib_link_arg(&format!("-Wl,-soname,libsdfd.so.{major}"));
    }
}

/// Names for the target conditions the library's code tests, set once here
/// instead of repeating the target lists in every `#[cfg]`:
///
/// * `sdfd_linux`: a Linux kernel (`target_os` linux or android): its
///   system-call ABI (`SOCK_CLOEXEC`, `pipe2`, `ppoll`, message queues,
///   vsock, `SCM_CREDENTIALS`);
/// * `sdfd_raw_syscalls`: Linux on x86_64 or aarch64, where `src/sys/linux.rs`
///   makes its calls as raw system calls instead of through libc. Off with
///   `SDFD_NO_RAW_SYSCALLS=1`, so that the libc path of `src/sys/unix.rs`
///   also runs on x86_64 (tests/rust/crate.sh, tests/c/difftest.sh).
///
/// (`cargo:` rather than `cargo::`: the crate's rust-version predates it.)
fn cfg_aliases() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let linux = os == "linux" || os == "android";
    println!("cargo:rerun-if-env-changed=SDFD_NO_RAW_SYSCALLS");
    let no_raw = std::env::var_os("SDFD_NO_RAW_SYSCALLS").is_some_and(|v| v == "1");
    let raw = os == "linux" && (arch == "x86_64" || arch == "aarch64") && !no_raw;
    for (name, on) in [("sdfd_linux", linux), ("sdfd_raw_syscalls", raw)] {
        println!("cargo:rustc-check-cfg=cfg({name})");
        if on {
            println!("cargo:rustc-cfg={name}");
        }
    }
}
