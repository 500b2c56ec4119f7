//! entra-provisioning's tests: the expression language against Microsoft's examples, mapping files,
//! scoping filters and what Entra sends from them.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cycle;
mod expr;
mod mapping;
