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
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsdfd.so.{major}");
    }
}
