//! reference-host's one integration-test binary. Everything here runs against a real OpenLDAP
//! slapd, started once for the binary (`slapd.rs`); each test gets its own OU and its own host.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod config;
mod lifecycle;
mod slapd;
mod support;
mod tls;
