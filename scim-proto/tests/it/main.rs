//! scim-proto's one integration-test binary: every RFC 7643/7644 example payload and every Entra
//! request body from the research notes, read, normalised and written back.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod filters;
mod fuzz;
mod patches;
mod resources;

use std::path::PathBuf;

/// Reads a fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every fixture file under `tests/fixtures/<dir>`, so a test can prove it covered them all.
pub fn fixtures_in(dir: &str) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    names.sort();
    names
}
