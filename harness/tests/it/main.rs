//! harness's one integration-test binary: the suite against the reference host on a real slapd,
//! on the embedded mocks and on real PostgreSQL, MariaDB and SQLite (every profile, both
//! dialects), through the library and through the `ecmacert` binary, and against hosts that must
//! fail: stopped, wrong token, and mutants that break one promise each.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The same real-slapd fixture the reference host's tests use.
#[path = "../../../reference-host/tests/it/slapd.rs"]
#[allow(dead_code)]
mod slapd;

mod adlds;
mod cli;
mod container;
mod cycle;
mod embedded;
mod failures;
mod fault_proxy;
mod ha;
mod html;
mod kept_connection;
mod large_body;
mod load;
mod probe;
mod provision;
mod reference;
mod shapes;
mod sql;
mod support;
mod verdicts;
