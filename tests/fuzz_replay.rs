//! Replays every kept fuzz input (fuzz/corpus/TARGET/* and the crash
//! regressions in fuzz/regressions/TARGET/*) through the fuzz harness,
//! without fuzzing: each input must again give libsystemd's results (or the
//! model's) and must not crash. `make fuzz` grows the corpus.
//! Linux only: the oracle is libsystemd, and the harness uses Linux APIs.
//! Feature `capi`: the harness drives the C ABI.
#![cfg(all(target_os = "linux", feature = "capi"))]

#[path = "../fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;

#[test]
fn replay_fuzz_corpus() {
    // One test function: the harness changes the process environment and
    // descriptor flags, which must not race with other tests in this binary.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut total = 0;
    for (name, target) in harness::TARGETS {
        let mut n = 0;
        for kind in ["corpus", "regressions"] {
            let dir = root.join(kind).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).unwrap();
                target(&data);
                n += 1;
            }
        }
        assert!(n > 0, "no corpus for fuzz target {name}");
        eprintln!("fuzz replay: {name}: {n} inputs");
        total += n;
    }
    harness::remove_fixture_dir();
    eprintln!("fuzz replay: {total} inputs");
}
