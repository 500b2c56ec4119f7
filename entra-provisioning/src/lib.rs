//! What the Microsoft Entra provisioning service computes before it sends an ECMA host a
//! request: the values of attribute mappings, written in Entra's expression language.
//!
//! What it does:
//! - [`expr`] parses and evaluates the expressions of "Reference for writing expressions for
//!   attribute mappings in Microsoft Entra ID" over an Entra user, with a trace of every
//!   call's result;
//! - [`mapping`] reads attribute mappings (direct, constant, expression; apply always or only
//!   on create; default if null; matching precedence) and scoping filters from TOML, and
//!   gives each mapping's value for a user;
//! - [`scoping`] decides whether a user is in scope, clause by clause;
//! - [`export`] derives what Entra sends: the matching queries in precedence order, a
//!   create's attributes, or an update's changed attributes;
//! - [`cycle`] decides which users an initial or incremental cycle processes and what it does
//!   with each (provision, disable, delete, skip), keeps the job's state and escrow between
//!   cycles, counts the provisioning log and applies the quarantine rule.
//!
//! What it does not do: any I/O. The clock, the random seed and SelectUniqueValue's
//! uniqueness check come from the caller ([`expr::Env`]); sending requests and reading the
//! target is the harness's work.
//!
//! The expression parser and evaluator are our own: the language is the semantics being
//! simulated, and no crate implements it.

pub mod cycle;
pub mod export;
pub mod expr;
pub mod mapping;
pub mod scoping;
