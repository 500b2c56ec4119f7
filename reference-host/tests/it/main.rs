//! reference-host's one integration-test binary. The LDAP tests run against a real OpenLDAP
//! slapd, started once for the binary (`slapd.rs`); each test gets its own OU and its own host.
//! The SQL tests (`sql.rs`) run against the real PostgreSQL and MariaDB on 127.0.0.1 and SQLite,
//! each in a schema, database or file of its own.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod config;
mod lifecycle;
mod rest;
mod scim_target;
mod script;
mod shapes;
mod slapd;
mod sql;
mod sql_kinds;
// The SQL sandboxes the suite uses, shared by path (mock-targets depends on this crate).
#[path = "../../../mock-targets/src/sql.rs"]
#[allow(dead_code)]
mod sql_sandbox;
mod support;
mod tls;
