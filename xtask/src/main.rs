//! Project tasks: `header [OUT]` generates the C header from src/ffi.rs with
//! cbindgen (cbindgen.toml), into OUT (default include/sdfd.h). `make header`
//! runs it; tests/c/packaging.sh regenerates into a temporary file and
//! compares it with the committed header.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    match args.first().map(String::as_str) {
        Some("header") if args.len() <= 2 => {
            let out = args.get(1).map(PathBuf::from).unwrap_or_else(|| root.join("include/sdfd.h"));
            let config = match cbindgen::Config::from_file(root.join("cbindgen.toml")) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("xtask header: cbindgen.toml: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match cbindgen::Builder::new().with_crate(&root).with_config(config).generate() {
                Ok(b) => {
                    b.write_to_file(&out);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask header: cbindgen: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: cargo run -p xtask -- header [OUT]");
            ExitCode::from(2)
        }
    }
}
