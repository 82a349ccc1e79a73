//! Generates the C header with cbindgen and sets the shared library's soname.

fn main() {
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    match cbindgen::generate(&dir) {
        Ok(bindings) => {
            bindings.write_to_file(format!("{dir}/include/sdfd.h"));
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
    // The printf-style notify calls are C (variadic); link them in and
    // export them from the shared library.
    println!("cargo:rerun-if-changed=src/notifyf.c");
    println!("cargo:rerun-if-changed=sdfd.map");
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
            println!("cargo:rustc-cdylib-link-arg=-Wl,--undefined={sym}");
        }
        if os != "macos" && os != "ios" {
            println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/sdfd.map");
        }
    }
    if os == "windows" {
        let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
        let built = cc::Build::new().file("src/notifyf.c").warnings(true).try_compile("sdfd_notifyf");
        match built {
            Ok(()) => {
                for sym in ["sd_notifyf", "sd_pid_notifyf", "sd_pid_notifyf_with_fds"] {
                    if env == "msvc" {
                        println!("cargo:rustc-cdylib-link-arg=/INCLUDE:{sym}");
                    } else {
                        println!("cargo:rustc-cdylib-link-arg=-Wl,--undefined={sym}");
                    }
                }
            }
            // Only a cross type-check (`cargo check --target *-msvc` without
            // cl.exe) may end up here; a real build needs the C compiler.
            Err(e) if env == "msvc" => println!("cargo:warning=notifyf.c not compiled (type-check only?): {e}"),
            Err(e) => panic!("compiling src/notifyf.c: {e}"),
        }
    }
    if os == "linux" || os == "android" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsdfd.so.{major}");
    }
}
