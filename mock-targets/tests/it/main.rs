//! mock-targets' one integration-test binary: the mock LDAP server through a real client
//! (ldap3), compared operation by operation with a real slapd, with its faults and inspection.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The same real-slapd fixture the reference host's tests use.
#[path = "../../../reference-host/tests/it/slapd.rs"]
#[allow(dead_code)]
mod slapd;

mod behaviour;
mod differential;
mod fuzz;
