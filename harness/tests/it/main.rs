//! harness's one integration-test binary: the suite against the reference host on a real
//! slapd (both profiles, both dialects), through the library and through the `ecmacert` binary,
//! and against hosts that must fail: stopped, wrong token, and a mutant answering 404 to an
//! empty filter.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The same real-slapd fixture the reference host's tests use.
#[path = "../../../reference-host/tests/it/slapd.rs"]
#[allow(dead_code)]
mod slapd;

mod cli;
mod embedded;
mod failures;
mod reference;
mod support;
